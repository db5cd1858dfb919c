package fr.demarches.keycloak;

import java.util.List;
import java.util.Locale;

import jakarta.ws.rs.core.MultivaluedMap;

import org.keycloak.authentication.FormContext;
import org.keycloak.authentication.ValidationContext;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.provider.ProviderConfigProperty;

/**
 * Registration form action {@code demarches-courriel-identifiant}: a person who registers
 * logs in with the e-mail address, so it becomes the username. Keycloak's own
 * "e-mail as username" realm switch would do the same for accounts created by an
 * administrator too, and the employer portal gives those a generated login id instead.
 * Placed before "Registration User Profile Creation", which reads the username it sets.
 */
public class EmailAsUsername extends StatelessFormAction {

    public static final String ID = "demarches-courriel-identifiant";

    /** The username for a registration, or {@code null} when no e-mail was typed. */
    static String usernameFor(String email) {
        if (email == null || email.isBlank()) {
            return null;
        }
        return email.strip().toLowerCase(Locale.ROOT);
    }

    @Override
    public void validate(ValidationContext context) {
        // Keycloak keeps one decoded copy of the form per request: the next actions read it.
        MultivaluedMap<String, String> form = context.getHttpRequest().getDecodedFormParameters();
        String username = usernameFor(form.getFirst("email"));
        if (username != null) {
            form.putSingle("username", username);
        }
        context.success();
    }

    @Override
    public void buildPage(FormContext context, LoginFormsProvider form) {
        // Nothing to show: the page has no username field.
    }

    @Override
    public String getId() {
        return ID;
    }

    @Override
    public String getDisplayType() {
        return "Adresse électronique comme identifiant (inscription)";
    }

    @Override
    public String getReferenceCategory() {
        return null;
    }

    @Override
    public boolean isConfigurable() {
        return false;
    }

    @Override
    public String getHelpText() {
        return "À l'inscription, l'adresse électronique devient l'identifiant de connexion.";
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        return List.of();
    }
}
