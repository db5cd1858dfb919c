package fr.demarches.keycloak;

import static fr.demarches.keycloak.ProofOfWorkCaptcha.EXPIRE;
import static fr.demarches.keycloak.ProofOfWorkCaptcha.INVALIDE;
import static fr.demarches.keycloak.ProofOfWorkCaptcha.MANQUANT;
import static fr.demarches.keycloak.ProofOfWorkCaptcha.refusalKey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.keycloak.models.AuthenticatorConfigModel;

class ProofOfWorkCaptchaTest {

    private static final String CHALLENGE = "0123456789abcdef0123456789abcdef";
    private static final String NONCE = Long.toString(ProofOfWork.solve(CHALLENGE, 8));

    @Test
    void acceptsAFreshSolvedChallenge() {
        assertNull(refusalKey(CHALLENGE, NONCE, CHALLENGE, "1000", 1600, 600, 8));
    }

    @Test
    void missingNonceComesFirst() {
        assertEquals(MANQUANT, refusalKey(CHALLENGE, " ", null, null, 1000, 600, 8));
        assertEquals(MANQUANT, refusalKey(null, null, CHALLENGE, "1000", 1000, 600, 8));
    }

    @Test
    void expiredWhenNoteAbsentOrTooOld() {
        assertEquals(EXPIRE, refusalKey(CHALLENGE, NONCE, null, "1000", 1000, 600, 8));
        assertEquals(EXPIRE, refusalKey(CHALLENGE, NONCE, CHALLENGE, null, 1000, 600, 8));
        assertEquals(EXPIRE, refusalKey(CHALLENGE, NONCE, CHALLENGE, "x", 1000, 600, 8));
        assertEquals(EXPIRE, refusalKey(CHALLENGE, NONCE, CHALLENGE, "1000", 1601, 600, 8));
    }

    @Test
    void invalidWhenChallengeDiffersOrUnsolved() {
        assertEquals(INVALIDE, refusalKey("other", NONCE, CHALLENGE, "1000", 1000, 600, 8));
        assertEquals(INVALIDE, refusalKey(CHALLENGE, NONCE, CHALLENGE, "1000", 1000, 600, 24));
        assertEquals(INVALIDE, refusalKey(CHALLENGE, "-5", CHALLENGE, "1000", 1000, 600, 8));
    }

    @Test
    void configFallsBackToDefaults() {
        assertEquals(22, ProofOfWorkCaptcha.difficulty(null));
        assertEquals(600, ProofOfWorkCaptcha.validitySeconds(null));
        assertEquals(22, ProofOfWorkCaptcha.difficulty(config("0", "abc")));
        assertEquals(600, ProofOfWorkCaptcha.validitySeconds(config("0", "abc")));
        assertEquals(22, ProofOfWorkCaptcha.difficulty(config("29", "-1")));
        assertEquals(20, ProofOfWorkCaptcha.difficulty(config("20", "120")));
        assertEquals(120, ProofOfWorkCaptcha.validitySeconds(config("20", "120")));
        assertEquals(22, ProofOfWorkCaptcha.difficulty(new AuthenticatorConfigModel()));
    }

    private static AuthenticatorConfigModel config(String difficulte, String duree) {
        AuthenticatorConfigModel model = new AuthenticatorConfigModel();
        model.setConfig(Map.of("difficulte", difficulte, "dureeValiditeSecondes", duree));
        return model;
    }

    @Test
    void theDifficultyRisesOneBitPerDoublingAboveTheRateAndStaysBounded() {
        assertEquals(22, ProofOfWorkCaptcha.raised(22, 20, 20));
        assertEquals(23, ProofOfWorkCaptcha.raised(22, 21, 20));
        assertEquals(23, ProofOfWorkCaptcha.raised(22, 40, 20));
        assertEquals(24, ProofOfWorkCaptcha.raised(22, 41, 20));
        assertEquals(26, ProofOfWorkCaptcha.raised(22, 100_000, 20)); // at most four bits
        assertEquals(28, ProofOfWorkCaptcha.raised(27, 100_000, 20)); // never beyond 28
    }

    @Test
    void anAnswerIsCheckedAtTheDifficultyItsPageAskedFor() {
        assertEquals(24, ProofOfWorkCaptcha.issuedDifficulty("24", 22));
        assertEquals(22, ProofOfWorkCaptcha.issuedDifficulty(null, 22));
        assertEquals(22, ProofOfWorkCaptcha.issuedDifficulty("0", 22));
        assertEquals(22, ProofOfWorkCaptcha.issuedDifficulty("abc", 22));
    }

    @Test
    void theDefaultCostsARobotAboutFourMillionHashes() {
        assertEquals(22, ProofOfWorkCaptcha.difficulty(null));
    }
}
