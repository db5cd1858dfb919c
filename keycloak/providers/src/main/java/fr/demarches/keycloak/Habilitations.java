package fr.demarches.keycloak;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Picks, from a person's {@code habilitation} attribute ({@code demarche:role:siret} values kept
 * by the bridge), the rights for one démarche only, at most {@code maximum} of them, so that a
 * tiers with thousands of clients never gets a huge token: past the bound the token says it is
 * truncated and the démarche asks the bridge's API for the full list.
 */
public final class Habilitations {

    public static final String ATTRIBUTE = "habilitation";

    private Habilitations() {
    }

    /** The selection for one démarche. */
    public record Selection(List<Map<String, String>> rights, boolean truncated) {
    }

    public static Selection select(Iterable<String> values, String demarche, int maximum) {
        TreeSet<String> kept = new TreeSet<>();
        String prefix = demarche + ":";
        for (String value : values) {
            if (value == null || !value.startsWith(prefix)) {
                continue;
            }
            String[] parts = value.split(":", -1);
            if (parts.length != 3 || parts[1].isEmpty() || !Sirets.hasValidFormat(parts[2])) {
                continue;
            }
            kept.add(parts[2] + ":" + parts[1]);
        }
        List<Map<String, String>> rights = new ArrayList<>();
        for (String entry : kept) {
            if (rights.size() >= maximum) {
                break;
            }
            String[] parts = entry.split(":", 2);
            Map<String, String> right = new LinkedHashMap<>();
            right.put("siret", parts[0]);
            right.put("role", parts[1]);
            rights.add(right);
        }
        return new Selection(rights, kept.size() > rights.size());
    }
}
