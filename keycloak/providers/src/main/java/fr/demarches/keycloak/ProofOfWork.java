package fr.demarches.keycloak;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Proof of work behind the offline captcha: no third party is called, the browser spends
 * CPU time instead. The browser looks for the smallest integer {@code n >= 0} such that
 * {@code SHA-256(UTF-8(challenge + ":" + n))} starts with {@code difficulty} zero bits;
 * checking an answer costs the server one hash.
 */
public final class ProofOfWork {

    /** Twelve digits are far beyond any honest search and keep parsing trivial. */
    private static final int MAX_NONCE_DIGITS = 12;

    private ProofOfWork() {
    }

    /** 128 random bits as 32 hex characters: unguessable, so answers cannot be precomputed. */
    public static String newChallenge(SecureRandom random) {
        byte[] bytes = new byte[16];
        random.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    /** Number of zero bits at the start of {@code bytes}, most significant bit first. */
    public static int leadingZeroBits(byte[] bytes) {
        int bits = 0;
        for (byte b : bytes) {
            if (b != 0) {
                return bits + Integer.numberOfLeadingZeros(b & 0xff) - 24;
            }
            bits += 8;
        }
        return bits;
    }

    /**
     * Whether {@code nonce} answers {@code challenge}. Never throws: anything that is not
     * 1 to 12 ASCII digits is simply not a solution.
     */
    public static boolean isSolved(String challenge, String nonce, int difficulty) {
        if (challenge == null || nonce == null || nonce.isEmpty() || nonce.length() > MAX_NONCE_DIGITS
                || !nonce.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return false;
        }
        return leadingZeroBits(sha256(challenge + ":" + nonce)) >= difficulty;
    }

    /** Reference solver, the same search as the page's script; used by the tests. */
    public static long solve(String challenge, int difficulty) {
        for (long n = 0; ; n++) {
            if (leadingZeroBits(sha256(challenge + ":" + n)) >= difficulty) {
                return n;
            }
        }
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }
}
