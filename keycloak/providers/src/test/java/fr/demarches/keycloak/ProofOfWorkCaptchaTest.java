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
        assertEquals(16, ProofOfWorkCaptcha.difficulty(null));
        assertEquals(600, ProofOfWorkCaptcha.validitySeconds(null));
        assertEquals(16, ProofOfWorkCaptcha.difficulty(config("0", "abc")));
        assertEquals(600, ProofOfWorkCaptcha.validitySeconds(config("0", "abc")));
        assertEquals(16, ProofOfWorkCaptcha.difficulty(config("29", "-1")));
        assertEquals(20, ProofOfWorkCaptcha.difficulty(config("20", "120")));
        assertEquals(120, ProofOfWorkCaptcha.validitySeconds(config("20", "120")));
        assertEquals(16, ProofOfWorkCaptcha.difficulty(new AuthenticatorConfigModel()));
    }

    private static AuthenticatorConfigModel config(String difficulte, String duree) {
        AuthenticatorConfigModel model = new AuthenticatorConfigModel();
        model.setConfig(Map.of("difficulte", difficulte, "dureeValiditeSecondes", duree));
        return model;
    }
}
