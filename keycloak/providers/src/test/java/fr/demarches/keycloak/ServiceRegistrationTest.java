package fr.demarches.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.keycloak.authentication.FormActionFactory;
import org.keycloak.authentication.RequiredActionFactory;
import org.keycloak.events.EventListenerProviderFactory;
import org.keycloak.provider.ProviderFactory;
import org.keycloak.validate.ValidatorFactory;

/** Keycloak finds providers through META-INF/services: a typo there fails silently at runtime. */
class ServiceRegistrationTest {

    @Test
    void servicesFilesDeclareTheContractIds() {
        assertEquals(List.of("siret"), ids(ValidatorFactory.class));
        assertEquals(List.of("demarches-captcha", "demarches-courriel-identifiant"), ids(FormActionFactory.class));
        assertEquals(List.of("demarches-cgu"), ids(RequiredActionFactory.class));
        assertEquals(List.of("demarches-identifiant-courriel"), ids(EventListenerProviderFactory.class));
    }

    private static <T extends ProviderFactory<?>> List<String> ids(Class<T> spi) {
        // keycloak-server-spi registers its own validators on the same classpath: keep ours.
        return ServiceLoader.load(spi).stream()
                .filter(p -> p.type().getPackageName().equals(ServiceRegistrationTest.class.getPackageName()))
                .map(p -> p.get().getId())
                .collect(Collectors.toList());
    }
}
