package fr.demarches.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SiretsTest {

    @Test
    void acceptsLuhnValidSirets() {
        assertNull(Sirets.errorKey("73282932000074"));
        assertNull(Sirets.errorKey("73282932000082"));
    }

    @Test
    void refusesWrongCheckDigit() {
        assertEquals(Sirets.CLE_INVALIDE, Sirets.errorKey("73282932000079"));
    }

    @Test
    void laPosteHeadOfficeFollowsLuhn() {
        // Digit sum 26: only Luhn makes it valid.
        assertNull(Sirets.errorKey("35600000000048"));
    }

    @Test
    void laPosteEstablishmentsNeedADigitSumMultipleOfFive() {
        assertNull(Sirets.errorKey("35600000000001"), "sum 15, Luhn invalid: still valid");
        assertEquals(Sirets.CLE_INVALIDE, Sirets.errorKey("35600000000014"), "Luhn valid but sum 19");
    }

    @Test
    void sirenMustPassLuhnToo() {
        // 14-digit Luhn is fine, the first nine digits are not.
        assertTrue(Sirets.isLuhnValid("10433218196005"));
        assertEquals(Sirets.CLE_INVALIDE, Sirets.errorKey("10433218196005"));
    }

    @Test
    void refusesAnythingButFourteenDigits() {
        assertEquals(Sirets.FORMAT_INVALIDE, Sirets.errorKey("7328293200007A"));
        assertEquals(Sirets.FORMAT_INVALIDE, Sirets.errorKey("7328293200007"));
        assertEquals(Sirets.FORMAT_INVALIDE, Sirets.errorKey("732829320000741"));
        assertEquals(Sirets.FORMAT_INVALIDE, Sirets.errorKey(null));
    }

    @Test
    void refusesInnerSpacesButTrimsTheEnds() {
        // Stricter than stdnum, which would drop the inner spaces and dots.
        assertEquals(Sirets.FORMAT_INVALIDE, Sirets.errorKey("732 829 320 00074"));
        assertEquals(Sirets.FORMAT_INVALIDE, Sirets.errorKey("732.829.320.00074"));
        assertNull(Sirets.errorKey(" 73282932000074\t"));
    }

    @Test
    void formatIsAsciiDigitsOnly() {
        assertFalse(Sirets.hasValidFormat("٧٣٢٨٢٩٣٢٠٠٠٠٧٤"));
        assertTrue(Sirets.hasValidFormat("73282932000074"));
    }

    /**
     * Verdicts computed with python-stdnum ({@code stdnum.fr.siret.validate}, .venv of the
     * repository): VALID, CHECKSUM (InvalidChecksum) or FORMAT (InvalidFormat/InvalidLength).
     * Inputs with inner spaces or dots are left out on purpose (stdnum removes them).
     */
    @ParameterizedTest(name = "[{index}] \"{0}\" → {1}")
    @CsvSource(ignoreLeadingAndTrailingWhitespace = false, value = {
        "73282932000074,VALID",
        "73282932000082,VALID",
        "35600000000048,VALID",
        "35600000000010,VALID",
        "35600000000001,VALID",
        "35600001800024,VALID",
        "13389083086373,VALID",
        "94026542435112,VALID",
        "61559407481614,VALID",
        "84959310834136,VALID",
        "16475255234193,VALID",
        "28327648335037,VALID",
        "05641395837673,VALID",
        "24238849469653,VALID",
        "00000000000000,VALID",
        "'  73282932000074  ',VALID",
        "73282932000079,CHECKSUM",
        "35600000000049,CHECKSUM",
        "35600000000014,CHECKSUM",
        "35600000000055,CHECKSUM",
        "35600000012345,CHECKSUM",
        "35600000100004,CHECKSUM",
        "10433218196005,CHECKSUM",
        "32871012426915,CHECKSUM",
        "69784801884513,CHECKSUM",
        "62704828314894,CHECKSUM",
        "25288095070154,CHECKSUM",
        "30391171382274,CHECKSUM",
        "7328293200007,FORMAT",
        "732829320000741,FORMAT",
        "7328293200007A,FORMAT",
        "ABCDEFGHIJKLMN,FORMAT",
        "'',FORMAT",
        "+3282932000074,FORMAT",
        "-3282932000074,FORMAT",
        "٧٣٢٨٢٩٣٢٠٠٠٠٧٤,FORMAT",
    })
    void agreesWithPythonStdnum(String siret, String stdnumVerdict) {
        String expected = switch (stdnumVerdict) {
            case "VALID" -> null;
            case "CHECKSUM" -> Sirets.CLE_INVALIDE;
            default -> Sirets.FORMAT_INVALIDE;
        };
        assertEquals(expected, Sirets.errorKey(siret));
    }
}
