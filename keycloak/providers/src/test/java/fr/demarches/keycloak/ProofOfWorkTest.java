package fr.demarches.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProofOfWorkTest {

    private static final String CHALLENGE = "0123456789abcdef0123456789abcdef";

    @Test
    void countsLeadingZeroBits() {
        assertEquals(0, ProofOfWork.leadingZeroBits(new byte[] {(byte) 0x80}));
        assertEquals(7, ProofOfWork.leadingZeroBits(new byte[] {0x01, 0x00}));
        assertEquals(8, ProofOfWork.leadingZeroBits(new byte[] {0x00, (byte) 0xff}));
        assertEquals(12, ProofOfWork.leadingZeroBits(new byte[] {0x00, 0x0f, 0x00}));
        assertEquals(16, ProofOfWork.leadingZeroBits(new byte[] {0x00, 0x00}));
        assertEquals(0, ProofOfWork.leadingZeroBits(new byte[0]));
    }

    @Test
    void challengesAreFreshHex() {
        SecureRandom random = new SecureRandom();
        String challenge = ProofOfWork.newChallenge(random);
        assertTrue(challenge.matches("[0-9a-f]{32}"), challenge);
        assertNotEquals(challenge, ProofOfWork.newChallenge(random));
    }

    /** Smallest nonces computed with Python's hashlib, as the page's script must find them. */
    @Test
    void matchesKnownAnswers() {
        assertEquals(108, ProofOfWork.solve("demarches", 8));
        assertEquals(1193, ProofOfWork.solve("demarches", 12));
        assertEquals(14578, ProofOfWork.solve("demarches", 16));
        assertEquals(111324, ProofOfWork.solve(CHALLENGE, 16));
    }

    @ParameterizedTest
    @ValueSource(ints = {8, 12})
    void solvedNonceVerifies(int difficulty) {
        String nonce = Long.toString(ProofOfWork.solve(CHALLENGE, difficulty));
        assertTrue(ProofOfWork.isSolved(CHALLENGE, nonce, difficulty));
        assertFalse(ProofOfWork.isSolved("another" + CHALLENGE, nonce, difficulty));
    }

    @Test
    void wrongNonceDoesNotVerify() {
        // solve() returns the smallest solution, so the nonce just before it fails.
        long nonce = ProofOfWork.solve(CHALLENGE, 12);
        assertFalse(ProofOfWork.isSolved(CHALLENGE, Long.toString(nonce - 1), 12));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-1", "1234567890123", "99999999999999999999999", "abc", "1e3", "0x10", " 12", "١٢"})
    void malformedNoncesAreNeverSolutions(String nonce) {
        // Difficulty 0 accepts any well-formed nonce: only the format can refuse these.
        assertFalse(ProofOfWork.isSolved(CHALLENGE, nonce, 0));
    }

    @Test
    void nullsAreNotSolutions() {
        assertFalse(ProofOfWork.isSolved(null, "1", 0));
        assertFalse(ProofOfWork.isSolved(CHALLENGE, null, 0));
        assertTrue(ProofOfWork.isSolved(CHALLENGE, "123456789012", 0));
    }
}
