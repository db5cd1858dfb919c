package fr.demarches.keycloak;

import java.util.Locale;
import java.util.Map;

import org.keycloak.Config;
import org.keycloak.events.Details;
import org.keycloak.events.Event;
import org.keycloak.events.EventListenerProvider;
import org.keycloak.events.EventListenerProviderFactory;
import org.keycloak.events.EventType;
import org.keycloak.events.admin.AdminEvent;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;

/**
 * Event listener {@code demarches-identifiant-courriel}: a person who registered logs in with
 * the e-mail address (see {@link EmailAsUsername}); when they change it, once the new address
 * is verified, the username follows. Accounts whose username is a login id given by an
 * administrator keep it.
 */
public class UsernameFollowsEmail implements EventListenerProviderFactory {

    public static final String ID = "demarches-identifiant-courriel";

    /** The new username, or {@code null} when the username was not the previous address. */
    static String follow(String username, String previousEmail, String updatedEmail) {
        if (username == null || previousEmail == null || updatedEmail == null || updatedEmail.isBlank()) {
            return null;
        }
        if (!username.equalsIgnoreCase(previousEmail.strip())) {
            return null;
        }
        return updatedEmail.strip().toLowerCase(Locale.ROOT);
    }

    @Override
    public EventListenerProvider create(KeycloakSession session) {
        return new Listener(session);
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return ID;
    }

    private static final class Listener implements EventListenerProvider {
        private final KeycloakSession session;

        Listener(KeycloakSession session) {
            this.session = session;
        }

        @Override
        public void onEvent(Event event) {
            if (event.getType() != EventType.UPDATE_EMAIL || event.getError() != null || event.getUserId() == null) {
                return;
            }
            Map<String, String> details = event.getDetails();
            if (details == null) {
                return;
            }
            RealmModel realm = session.realms().getRealm(event.getRealmId());
            UserModel user = realm == null ? null : session.users().getUserById(realm, event.getUserId());
            if (user == null) {
                return;
            }
            String username = follow(user.getUsername(), details.get(Details.PREVIOUS_EMAIL),
                    details.get(Details.UPDATED_EMAIL));
            // A username already taken (it cannot be an e-mail of another person) is left alone.
            if (username != null && session.users().getUserByUsername(realm, username) == null) {
                user.setUsername(username);
            }
        }

        @Override
        public void onEvent(AdminEvent event, boolean includeRepresentation) {
            // An administrator's change of e-mail or username is theirs to make.
        }

        @Override
        public void close() {
        }
    }
}
