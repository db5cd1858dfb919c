package fr.demarches.keycloak;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.core.Response;

import org.keycloak.Config;
import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.authentication.Authenticator;
import org.keycloak.authentication.AuthenticatorFactory;
import org.keycloak.common.util.Time;
import org.keycloak.models.AuthenticationExecutionModel;
import org.keycloak.models.AuthenticatorConfigModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;

/**
 * Authenticator {@code demarches-limite-reinitialisation}, placed before the e-mail of the
 * « Mot de passe oublié ? » flow: at most {@code parHeure} reset e-mails per client address
 * and hour, and at most {@value #PAR_COMPTE} to one account whatever the addresses, so that
 * nobody floods a mailbox (or our mail server). Beyond, the form says so in French and no
 * e-mail leaves. Stateless: one instance serves all.
 */
public class ResetEmailLimit implements Authenticator, AuthenticatorFactory {

    public static final String ID = "demarches-limite-reinitialisation";
    static final String CONFIG_PAR_HEURE = "parHeure";
    static final int DEFAULT_PAR_HEURE = 5;
    static final String REFUS = "reinitialisationsTropNombreuses";

    /** Reset e-mails one account receives per hour, whatever the addresses asking. */
    static final int PAR_COMPTE = 3;

    private static final SlidingWindow BY_ADDRESS = new SlidingWindow(3_600_000L, 100_000);
    private static final SlidingWindow BY_USER = new SlidingWindow(3_600_000L, 100_000);

    @Override
    public void authenticate(AuthenticationFlowContext context) {
        long now = Time.currentTimeMillis();
        String address = SlidingWindow.addressKey(context.getConnection().getRemoteAddr());
        UserModel user = context.getUser(); // set by the previous step when the account exists
        boolean allowed = BY_ADDRESS.tryAdd(address, now, perHour(context.getAuthenticatorConfig()))
                && (user == null || BY_USER.tryAdd(user.getId(), now, PAR_COMPTE));
        if (allowed) {
            context.success();
            return;
        }
        context.getEvent().detail("limite", "reinitialisation");
        // A plain challenge, not a failure: a failure would count against the chosen account's
        // brute-force protection, and an attacker could lock its owner out.
        Response page = context.form().setError(REFUS).createPasswordReset();
        context.challenge(page);
    }

    /** The configured limit, or the default when absent or not positive. */
    static int perHour(AuthenticatorConfigModel config) {
        Map<String, String> values = config == null ? null : config.getConfig();
        String value = values == null ? null : values.get(CONFIG_PAR_HEURE);
        try {
            int parsed = value == null ? DEFAULT_PAR_HEURE : Integer.parseInt(value.strip());
            return parsed > 0 ? parsed : DEFAULT_PAR_HEURE;
        } catch (NumberFormatException e) {
            return DEFAULT_PAR_HEURE;
        }
    }

    @Override
    public void action(AuthenticationFlowContext context) {
        authenticate(context);
    }

    @Override
    public boolean requiresUser() {
        return false;
    }

    @Override
    public boolean configuredFor(KeycloakSession session, RealmModel realm, UserModel user) {
        return true;
    }

    @Override
    public void setRequiredActions(KeycloakSession session, RealmModel realm, UserModel user) {
    }

    @Override
    public Authenticator create(KeycloakSession session) {
        return this;
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

    @Override
    public String getDisplayType() {
        return "Limite des courriels de réinitialisation par adresse";
    }

    @Override
    public String getReferenceCategory() {
        return "limite";
    }

    @Override
    public boolean isConfigurable() {
        return true;
    }

    @Override
    public AuthenticationExecutionModel.Requirement[] getRequirementChoices() {
        return new AuthenticationExecutionModel.Requirement[] {
            AuthenticationExecutionModel.Requirement.REQUIRED,
            AuthenticationExecutionModel.Requirement.DISABLED,
        };
    }

    @Override
    public boolean isUserSetupAllowed() {
        return false;
    }

    @Override
    public String getHelpText() {
        return "Au-delà du nombre de courriels de réinitialisation par heure et par adresse IP,"
                + " le formulaire refuse la demande en français et aucun courriel ne part.";
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        return ProviderConfigurationBuilder.create()
                .property().name(CONFIG_PAR_HEURE).label("Courriels par heure et par adresse")
                .helpText("Nombre de demandes « Mot de passe oublié ? » acceptées par heure depuis"
                        + " une même adresse IP (par nœud Keycloak).")
                .type(ProviderConfigProperty.INTEGER_TYPE).defaultValue(DEFAULT_PAR_HEURE).add()
                .build();
    }
}
