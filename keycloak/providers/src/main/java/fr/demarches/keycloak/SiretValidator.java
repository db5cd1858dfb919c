package fr.demarches.keycloak;

import java.util.List;

import org.keycloak.provider.ConfiguredProvider;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.validate.AbstractStringValidator;
import org.keycloak.validate.ValidationContext;
import org.keycloak.validate.ValidationError;
import org.keycloak.validate.ValidatorConfig;

/**
 * User profile validator {@code siret}: the realm's user profile puts it on the attribute
 * {@code siret}. The rules live in {@link Sirets}. It implements {@link ConfiguredProvider}
 * only so that the admin console offers it in the list of validators.
 */
public class SiretValidator extends AbstractStringValidator implements ConfiguredProvider {

    public static final String ID = "siret";

    @Override
    public String getId() {
        return ID;
    }

    /** Blank values are left to the attribute's {@code required} rule, which knows when it applies. */
    @Override
    protected boolean skipValidation(Object value, ValidatorConfig config) {
        return value == null || value instanceof String s && s.isBlank();
    }

    @Override
    protected void doValidate(String value, String inputHint, ValidationContext context, ValidatorConfig config) {
        String key = Sirets.errorKey(value);
        if (key != null) {
            context.addError(new ValidationError(ID, inputHint, key));
        }
    }

    @Override
    public String getHelpText() {
        return "SIRET : 14 chiffres, clé de Luhn (règle particulière de La Poste).";
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        return List.of();
    }
}
