package fr.demarches.keycloak;

import java.util.List;

import org.keycloak.models.ClientSessionContext;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.ProtocolMapperModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.mappers.AbstractOIDCProtocolMapper;
import org.keycloak.protocol.oidc.mappers.OIDCAccessTokenMapper;
import org.keycloak.protocol.oidc.mappers.OIDCIDTokenMapper;
import org.keycloak.protocol.oidc.mappers.UserInfoTokenMapper;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;
import org.keycloak.representations.IDToken;

/**
 * Puts into the token the person's habilitations for the requesting démarche only (the
 * client's id is the démarche's id), bounded: the claim {@code habilitations} lists
 * {@code {siret, role}}, and {@code habilitations_tronquees} is true past the bound. The bridge
 * keeps the attribute; this mapper only reads it. Used by the optional client scope
 * {@code habilitations} that the bridge attaches to each démarche's client.
 */
public class HabilitationsMapper extends AbstractOIDCProtocolMapper
        implements OIDCAccessTokenMapper, OIDCIDTokenMapper, UserInfoTokenMapper {

    public static final String ID = "demarches-habilitations";
    public static final String MAXIMUM = "maximum";
    public static final int DEFAULT_MAXIMUM = 20;
    public static final String CLAIM = "habilitations";
    public static final String TRUNCATED_CLAIM = "habilitations_tronquees";

    private static final List<ProviderConfigProperty> CONFIG = ProviderConfigurationBuilder.create()
            .property()
            .name(MAXIMUM)
            .label("Nombre maximal")
            .helpText("Au-delà, le jeton porte habilitations_tronquees = true : la démarche lit la liste complète auprès du pont.")
            .type(ProviderConfigProperty.STRING_TYPE)
            .defaultValue(String.valueOf(DEFAULT_MAXIMUM))
            .add()
            .build();

    @Override
    public String getId() {
        return ID;
    }

    @Override
    public String getDisplayType() {
        return "Habilitations de la démarche";
    }

    @Override
    public String getDisplayCategory() {
        return TOKEN_MAPPER_CATEGORY;
    }

    @Override
    public String getHelpText() {
        return "Les habilitations de la personne pour la démarche qui demande le jeton (et elle seule), en nombre borné.";
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        return CONFIG;
    }

    static int maximum(ProtocolMapperModel model) {
        String configured = model.getConfig() == null ? null : model.getConfig().get(MAXIMUM);
        try {
            int value = configured == null ? DEFAULT_MAXIMUM : Integer.parseInt(configured.strip());
            return Math.max(0, Math.min(value, 500));
        } catch (NumberFormatException e) {
            return DEFAULT_MAXIMUM;
        }
    }

    @Override
    protected void setClaim(IDToken token, ProtocolMapperModel model, UserSessionModel userSession,
            KeycloakSession session, ClientSessionContext context) {
        String demarche = context.getClientSession().getClient().getClientId();
        List<String> values = userSession.getUser().getAttributeStream(Habilitations.ATTRIBUTE).toList();
        Habilitations.Selection selection = Habilitations.select(values, demarche, maximum(model));
        token.getOtherClaims().put(CLAIM, selection.rights());
        if (selection.truncated()) {
            token.getOtherClaims().put(TRUNCATED_CLAIM, Boolean.TRUE);
        }
    }
}
