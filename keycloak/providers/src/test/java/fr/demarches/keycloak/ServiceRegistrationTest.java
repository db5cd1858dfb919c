package fr.demarches.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.keycloak.authentication.AuthenticatorFactory;
import org.keycloak.authentication.FormActionFactory;
import org.keycloak.authentication.RequiredActionFactory;
import org.keycloak.events.EventListenerProviderFactory;
import org.keycloak.protocol.ProtocolMapper;
import org.keycloak.provider.ProviderFactory;
import org.keycloak.validate.ValidatorFactory;

/** Keycloak finds providers through META-INF/services: a typo there fails silently at runtime. */
class ServiceRegistrationTest {

    @Test
    void servicesFilesDeclareTheContractIds() throws Exception {
        assertEquals(List.of("siret"), ids(ValidatorFactory.class));
        assertEquals(List.of("demarches-captcha", "demarches-courriel-identifiant"), ids(FormActionFactory.class));
        assertEquals(List.of("demarches-cgu"), ids(RequiredActionFactory.class));
        assertEquals(List.of("demarches-identifiant-courriel"), ids(EventListenerProviderFactory.class));
        assertEquals(List.of("demarches-habilitations"), ids(ProtocolMapper.class));
        assertEquals(List.of("demarches-limite-reinitialisation"), ids(AuthenticatorFactory.class));
    }

    private static List<String> ids(Class<?> spi) throws Exception {
        // Read our own services file only: Keycloak's jars on the test classpath register
        // providers whose dependencies are absent here.
        URL file = Path.of("target", "classes", "META-INF", "services", spi.getName()).toUri().toURL();
        List<String> names;
        try (var in = file.openStream()) {
            names = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).collect(Collectors.toList());
        }
        List<String> ids = new java.util.ArrayList<>();
        for (String name : names) {
            Object provider = Class.forName(name).getConstructor().newInstance();
            ids.add(spi.cast(provider) instanceof ProviderFactory<?> f ? f.getId() : ((ProtocolMapper) provider).getId());
        }
        return ids;
    }
}
