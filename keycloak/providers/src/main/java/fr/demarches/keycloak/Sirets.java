package fr.demarches.keycloak;

/**
 * SIRET rules, kept free of Keycloak types so that they can be tested alone and compared
 * with python-stdnum's {@code stdnum.fr.siret.validate}, which the Python side uses: both
 * must accept and refuse the same numbers.
 */
public final class Sirets {

    /** Message key: not exactly 14 digits. */
    public static final String FORMAT_INVALIDE = "siretFormatInvalide";
    /** Message key: 14 digits but a wrong check digit. */
    public static final String CLE_INVALIDE = "siretCleInvalide";

    /** La Poste's establishments share this SIREN and do not follow Luhn (except the head office). */
    private static final String LA_POSTE_PREFIX = "356000000";
    private static final String LA_POSTE_SIEGE = "35600000000048";

    private Sirets() {
    }

    /**
     * Returns the message key of the first rule broken, or {@code null} when valid.
     * Only leading and trailing whitespace is tolerated: unlike stdnum, inner spaces or dots
     * are refused so that the stored value is always the bare 14 digits.
     */
    public static String errorKey(String value) {
        String siret = value == null ? "" : value.strip();
        if (!hasValidFormat(siret)) {
            return FORMAT_INVALIDE;
        }
        return hasValidChecksum(siret) ? null : CLE_INVALIDE;
    }

    /** Exactly 14 ASCII digits (not {@link Character#isDigit}, which accepts other scripts). */
    public static boolean hasValidFormat(String value) {
        return value != null && value.length() == 14 && value.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    /**
     * Checksum of a string already known to be 14 digits: La Poste's rule (sum of digits
     * multiple of 5) or Luhn on the 14 digits, and in every case Luhn on the SIREN.
     */
    public static boolean hasValidChecksum(String fourteenDigits) {
        boolean establishment = fourteenDigits.startsWith(LA_POSTE_PREFIX) && !fourteenDigits.equals(LA_POSTE_SIEGE)
                ? fourteenDigits.chars().map(c -> c - '0').sum() % 5 == 0
                : isLuhnValid(fourteenDigits);
        return establishment && isLuhnValid(fourteenDigits.substring(0, 9));
    }

    /** Luhn over ASCII digits: from the right, every second digit is doubled (minus 9 above 9). */
    static boolean isLuhnValid(String digits) {
        int sum = 0;
        for (int i = 0; i < digits.length(); i++) {
            int d = digits.charAt(digits.length() - 1 - i) - '0';
            if (i % 2 == 1) {
                d = d * 2 > 9 ? d * 2 - 9 : d * 2;
            }
            sum += d;
        }
        return sum % 10 == 0;
    }
}
