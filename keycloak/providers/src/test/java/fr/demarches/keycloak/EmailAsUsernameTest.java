package fr.demarches.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class EmailAsUsernameTest {

    @Test
    void theTypedAddressTrimmedAndLowercasedIsTheUsername() {
        assertEquals("claire.lefevre@organisme.fr", EmailAsUsername.usernameFor("  Claire.Lefevre@Organisme.fr "));
    }

    @Test
    void noAddressGivesNoUsernameAndTheProfileSaysWhatIsMissing() {
        assertNull(EmailAsUsername.usernameFor(null));
        assertNull(EmailAsUsername.usernameFor("   "));
    }
}
