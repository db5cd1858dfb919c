package fr.demarches.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.keycloak.models.RequiredActionConfigModel;

class CguRequiredActionTest {

    @Test
    void asksWhenNeverAcceptedOrAnotherVersion() {
        assertTrue(CguRequiredAction.needsAcceptance(null, "1"));
        assertTrue(CguRequiredAction.needsAcceptance("1", "2"));
        assertFalse(CguRequiredAction.needsAcceptance("2", "2"));
    }

    @Test
    void versionDefaultsToOne() {
        assertEquals("1", CguRequiredAction.currentVersion(null));
        assertEquals("1", CguRequiredAction.currentVersion(new RequiredActionConfigModel()));
        assertEquals("1", CguRequiredAction.currentVersion(config(" ")));
        assertEquals("2024-06", CguRequiredAction.currentVersion(config("2024-06")));
    }

    private static RequiredActionConfigModel config(String version) {
        RequiredActionConfigModel model = new RequiredActionConfigModel();
        model.setConfig(Map.of("version", version));
        return model;
    }
}
