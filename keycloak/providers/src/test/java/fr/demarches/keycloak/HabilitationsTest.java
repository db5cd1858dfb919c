package fr.demarches.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.keycloak.models.ProtocolMapperModel;

class HabilitationsTest {

    private static final String MAF = "mon-activite-formation";

    @Test
    void onlyTheRequestingDemarchesRightsAreKept() {
        Habilitations.Selection selection = Habilitations.select(
                List.of(MAF + ":gestionnaire:73282932000074", "mes-collectes-formation:declarant:73282932000074",
                        MAF + ":declarant:55203253400646"),
                MAF, 20);
        assertEquals(List.of(Map.of("siret", "55203253400646", "role", "declarant"),
                Map.of("siret", "73282932000074", "role", "gestionnaire")), selection.rights());
        assertFalse(selection.truncated());
    }

    @Test
    void aDemarcheWhoseIdPrefixesAnotherDoesNotSeeItsRights() {
        assertTrue(Habilitations.select(List.of(MAF + "-bis:declarant:73282932000074"), MAF, 20).rights().isEmpty());
    }

    @Test
    void malformedValuesAreIgnored() {
        assertTrue(Habilitations.select(
                List.of(MAF + ":declarant:7328293200007", MAF + "::73282932000074", MAF + ":declarant:7328293200007x",
                        MAF + ":a:b:73282932000074"),
                MAF, 20).rights().isEmpty());
    }

    @Test
    void aTiersWithAThousandClientsGetsTheBoundAndTheTruncationFlag() {
        List<String> values = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            values.add(String.format("%s:declarant:%014d", MAF, 10_000_000_000_000L + i));
        }
        Habilitations.Selection selection = Habilitations.select(values, MAF, 20);
        assertEquals(20, selection.rights().size());
        assertTrue(selection.truncated());
        assertEquals("10000000000000", selection.rights().get(0).get("siret"));
    }

    @Test
    void theConfiguredMaximumIsReadAndKeptWithinLimits() {
        ProtocolMapperModel model = new ProtocolMapperModel();
        model.setConfig(new java.util.HashMap<>(Map.of(HabilitationsMapper.MAXIMUM, " 5 ")));
        assertEquals(5, HabilitationsMapper.maximum(model));
        model.getConfig().put(HabilitationsMapper.MAXIMUM, "100000");
        assertEquals(500, HabilitationsMapper.maximum(model));
        model.getConfig().put(HabilitationsMapper.MAXIMUM, "beaucoup");
        assertEquals(HabilitationsMapper.DEFAULT_MAXIMUM, HabilitationsMapper.maximum(model));
    }
}
