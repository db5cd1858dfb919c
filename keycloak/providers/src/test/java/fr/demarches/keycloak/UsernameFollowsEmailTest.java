package fr.demarches.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class UsernameFollowsEmailTest {

    @Test
    void aUsernameThatWasTheAddressFollowsTheNewAddress() {
        assertEquals("nadia@nouveau.fr", UsernameFollowsEmail.follow("nadia@ancien.fr", "Nadia@Ancien.fr", " Nadia@Nouveau.fr"));
    }

    @Test
    void aLoginIdGivenByAnAdministratorStays() {
        assertNull(UsernameFollowsEmail.follow("e7k2m9q4", "paul@employeur.fr", "paul.girard@employeur.fr"));
    }

    @Test
    void missingDetailsChangeNothing() {
        assertNull(UsernameFollowsEmail.follow("nadia@ancien.fr", null, "nadia@nouveau.fr"));
        assertNull(UsernameFollowsEmail.follow("nadia@ancien.fr", "nadia@ancien.fr", " "));
    }
}
