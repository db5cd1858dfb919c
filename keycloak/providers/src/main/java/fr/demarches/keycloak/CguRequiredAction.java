package fr.demarches.keycloak;

import java.time.Instant;
import java.util.List;

import org.keycloak.Config;
import org.keycloak.authentication.InitiatedActionSupport;
import org.keycloak.authentication.RequiredActionContext;
import org.keycloak.authentication.RequiredActionFactory;
import org.keycloak.authentication.RequiredActionProvider;
import org.keycloak.common.util.Time;
import org.keycloak.credential.CredentialModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RequiredActionConfigModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.credential.PasswordCredentialModel;
import org.keycloak.models.utils.FormMessage;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;

/**
 * Required action {@code demarches-cgu}: Keycloak's own "Terms and Conditions" only records
 * that terms were accepted once; here each acceptance records the version, so publishing a
 * new version (the action's {@code version} setting) asks everyone again at next login.
 * Stateless, hence one instance serves as factory and provider.
 */
public class CguRequiredAction implements RequiredActionProvider, RequiredActionFactory {

    public static final String ID = "demarches-cgu";

    static final String CONFIG_VERSION = "version";
    static final String DEFAULT_VERSION = "1";
    static final String ATTR_VERSION = "cguVersion";
    static final String ATTR_DATE = "cguAccepteeLe";
    static final String PARAM_ACCEPTEES = "cguAcceptees";
    static final String TEMPLATE = "cgu.ftl";
    static final String ATTR_PASSWORD_CHANGED = "motDePasseModifie";

    @Override
    public void evaluateTriggers(RequiredActionContext context) {
        UserModel user = context.getUser();
        if (needsAcceptance(user.getFirstAttribute(ATTR_VERSION), currentVersion(context.getConfig()))) {
            user.addRequiredAction(ID);
        }
    }

    @Override
    public void requiredActionChallenge(RequiredActionContext context) {
        context.challenge(context.form()
                .setAttribute(ATTR_VERSION, currentVersion(context.getConfig()))
                .setAttribute(ATTR_PASSWORD_CHANGED, passwordChangedDuringThisLogin(context))
                .createForm(TEMPLATE));
    }

    /**
     * Keycloak's password step says nothing once done, and the guide's confirmation (« votre mot
     * de passe a été modifié ») belongs to the page that follows it at first login: this one.
     * The password credential was made after this login began: it is that step's.
     */
    static boolean passwordChangedDuringThisLogin(RequiredActionContext context) {
        long began = context.getAuthenticationSession().getParentSession().getTimestamp() * 1000L;
        return context.getUser().credentialManager()
                .getStoredCredentialsByTypeStream(PasswordCredentialModel.TYPE)
                .map(CredentialModel::getCreatedDate)
                .anyMatch(created -> madeSince(created, began));
    }

    /** Made at or after `beganMillis` (Keycloak keeps the session's start to the second). */
    static boolean madeSince(Long createdMillis, long beganMillis) {
        return createdMillis != null && createdMillis >= beganMillis - 1000L;
    }

    @Override
    public void processAction(RequiredActionContext context) {
        String version = currentVersion(context.getConfig());
        String accepted = context.getHttpRequest().getDecodedFormParameters().getFirst(PARAM_ACCEPTEES);
        if (!"on".equals(accepted)) {
            // Declining is not an option that ends the flow: the page stays until the box is ticked.
            context.challenge(context.form()
                    .setAttribute(ATTR_VERSION, version)
                    .addError(new FormMessage(PARAM_ACCEPTEES, "cguNonAcceptees"))
                    .createForm(TEMPLATE));
            return;
        }
        UserModel user = context.getUser();
        user.setSingleAttribute(ATTR_VERSION, version);
        user.setSingleAttribute(ATTR_DATE, Instant.ofEpochSecond(Time.currentTimeSeconds()).toString());
        context.getEvent().detail("cgu_version", version);
        context.success();
    }

    /** A person who never accepted, or accepted another version, must accept the current one. */
    static boolean needsAcceptance(String acceptedVersion, String currentVersion) {
        return !currentVersion.equals(acceptedVersion);
    }

    /** The configured version; "1" when the action has no configuration or an empty one. */
    static String currentVersion(RequiredActionConfigModel config) {
        String version = config == null ? null : config.getConfigValue(CONFIG_VERSION);
        return version == null || version.isBlank() ? DEFAULT_VERSION : version.strip();
    }

    @Override
    public InitiatedActionSupport initiatedActionSupport() {
        return InitiatedActionSupport.SUPPORTED;
    }

    @Override
    public String getDisplayText() {
        return "Conditions générales d'utilisation (versionnées)";
    }

    @Override
    public boolean isConfigurable() {
        return true;
    }

    @Override
    public List<ProviderConfigProperty> getConfigMetadata() {
        return ProviderConfigurationBuilder.create()
                .property().name(CONFIG_VERSION).label("Version en vigueur des CGU")
                .helpText("Changer la version redemande l'acceptation à chacun, à sa prochaine connexion.")
                .type(ProviderConfigProperty.STRING_TYPE).defaultValue(DEFAULT_VERSION).add()
                .build();
    }

    @Override
    public RequiredActionProvider create(KeycloakSession session) {
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
}
