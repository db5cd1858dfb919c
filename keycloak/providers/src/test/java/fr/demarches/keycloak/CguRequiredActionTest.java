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

    @Test
    void onlyAPasswordMadeDuringThisLoginIsTheOneJustChosen() {
        long began = 1_800_000_000_000L;
        assertTrue(CguRequiredAction.madeSince(began + 30_000L, began));
        assertTrue(CguRequiredAction.madeSince(began - 500L, began)); // the start kept to the second
        assertFalse(CguRequiredAction.madeSince(began - 60_000L, began));
        assertFalse(CguRequiredAction.madeSince(null, began));
    }

    private static RequiredActionConfigModel config(String version) {
        RequiredActionConfigModel model = new RequiredActionConfigModel();
        model.setConfig(Map.of("version", version));
        return model;
    }
}
