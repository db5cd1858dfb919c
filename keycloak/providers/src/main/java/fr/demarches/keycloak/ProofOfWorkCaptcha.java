package fr.demarches.keycloak;

import java.security.SecureRandom;
import java.util.List;
import java.util.Map;

import jakarta.ws.rs.core.MultivaluedHashMap;
import jakarta.ws.rs.core.MultivaluedMap;

import org.keycloak.authentication.FormContext;
import org.keycloak.authentication.ValidationContext;
import org.keycloak.common.util.Time;
import org.keycloak.events.Errors;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.models.AuthenticatorConfigModel;
import org.keycloak.models.utils.FormMessage;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;
import org.keycloak.sessions.AuthenticationSessionModel;

/**
 * Registration form action {@code demarches-captcha}: a captcha that works without any
 * third-party service (offline development, sovereignty), by asking the browser for a
 * {@link ProofOfWork}. The challenge lives in the authentication session, is single use
 * and expires. Stateless, hence one instance serves as factory and provider.
 */
public class ProofOfWorkCaptcha extends StatelessFormAction {

    public static final String ID = "demarches-captcha";

    static final String CONFIG_DIFFICULTE = "difficulte";
    static final String CONFIG_DUREE_VALIDITE = "dureeValiditeSecondes";
    static final String CONFIG_PAR_MINUTE = "inscriptionsParMinute";
    static final String CONFIG_PAR_ADRESSE = "inscriptionsParHeureEtParAdresse";
    /** 22 bits: about 4 million hashes, 1 s of a browser on two cores, 3 s of a Python script (bench.captcha). */
    static final int DEFAULT_DIFFICULTE = 22;
    static final int DEFAULT_DUREE_VALIDITE = 600;
    /** Above this many registrations a minute on the node, each doubling adds one bit. */
    static final int DEFAULT_PAR_MINUTE = 20;
    static final int MAX_HAUSSE = 4;
    static final int DEFAULT_PAR_ADRESSE = 10;
    /** Beyond 28 bits a slow phone would search for minutes. */
    static final int MAX_DIFFICULTE = 28;

    static final String NOTE_CHALLENGE = "demarches.captcha.challenge";
    static final String NOTE_EMIS = "demarches.captcha.emis";
    static final String NOTE_DIFFICULTE = "demarches.captcha.difficulte";
    static final String TROP_D_INSCRIPTIONS = "inscriptionsTropNombreuses";
    private static final String NODE = "*";

    /** Accepted registrations: of the whole node in the last minute, per address in the last hour. */
    static final SlidingWindow LAST_MINUTE = new SlidingWindow(60_000L, 1);
    static final SlidingWindow BY_ADDRESS = new SlidingWindow(3_600_000L, 100_000);

    static final String PARAM_CHALLENGE = "pow-challenge";
    static final String PARAM_NONCE = "pow-nonce";
    static final String FIELD = "captcha";
    static final String MANQUANT = "captchaManquant";
    static final String EXPIRE = "captchaExpire";
    static final String INVALIDE = "captchaInvalide";

    private static final SecureRandom RANDOM = new SecureRandom();

    @Override
    public void buildPage(FormContext context, LoginFormsProvider form) {
        String challenge = ProofOfWork.newChallenge(RANDOM);
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        authSession.setAuthNote(NOTE_CHALLENGE, challenge);
        authSession.setAuthNote(NOTE_EMIS, Long.toString(Time.currentTimeSeconds()));
        AuthenticatorConfigModel config = context.getAuthenticatorConfig();
        int recent = LAST_MINUTE.count(NODE, Time.currentTimeMillis());
        int difficulty = raised(difficulty(config), recent, perMinute(config));
        // The answer is checked at the difficulty this page asked for, whatever happens next.
        authSession.setAuthNote(NOTE_DIFFICULTE, Integer.toString(difficulty));
        form.setAttribute("captchaRequired", Boolean.TRUE);
        form.setAttribute("powChallenge", challenge);
        form.setAttribute("powDifficulty", difficulty);
    }

    /**
     * The difficulty for a new page: the configured one, plus one bit per doubling of the
     * registrations of the last minute above {@code perMinute} (at most {@value #MAX_HAUSSE}),
     * never beyond {@value #MAX_DIFFICULTE}.
     */
    static int raised(int base, int recentRegistrations, int perMinute) {
        int extra = 0;
        for (long level = perMinute; recentRegistrations > level && extra < MAX_HAUSSE; level *= 2) {
            extra++;
        }
        return Math.min(MAX_DIFFICULTE, base + extra);
    }

    @Override
    public void validate(ValidationContext context) {
        MultivaluedMap<String, String> formData = context.getHttpRequest().getDecodedFormParameters();
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        AuthenticatorConfigModel config = context.getAuthenticatorConfig();
        String refusal = refusalKey(formData.getFirst(PARAM_CHALLENGE), formData.getFirst(PARAM_NONCE),
                authSession.getAuthNote(NOTE_CHALLENGE), authSession.getAuthNote(NOTE_EMIS),
                Time.currentTimeSeconds(), validitySeconds(config),
                issuedDifficulty(authSession.getAuthNote(NOTE_DIFFICULTE), difficulty(config)));
        String address = SlidingWindow.addressKey(context.getConnection().getRemoteAddr());
        // Reserved here, not when the account is made: pages solved in advance and sent at
        // once cannot all pass (a later refusal of the form still counts: on the safe side).
        if (refusal == null && !BY_ADDRESS.tryAdd(address, Time.currentTimeMillis(), perAddress(config))) {
            // A solved captcha, but this connection already registered too many accounts.
            context.getEvent().detail("limite", "inscription");
            refusal = TROP_D_INSCRIPTIONS;
        }
        if (refusal == null) {
            // Single use: a solved challenge cannot be replayed for another registration.
            authSession.removeAuthNote(NOTE_CHALLENGE);
            authSession.removeAuthNote(NOTE_EMIS);
            context.success();
            return;
        }
        context.getEvent().detail(FIELD, "refuse");
        context.error(Errors.INVALID_REGISTRATION);
        // The re-rendered page gets a new challenge from buildPage; the old answer must not come back.
        MultivaluedMap<String, String> kept = new MultivaluedHashMap<>(formData);
        kept.remove(PARAM_NONCE);
        // No excludeOtherErrors(): the person should see every field to correct at once.
        context.validationError(kept, List.of(new FormMessage(FIELD, refusal)));
    }

    /** The node's rate counts the accounts made (every form action of the page accepted it). */
    @Override
    public void success(FormContext context) {
        LAST_MINUTE.add(NODE, Time.currentTimeMillis());
    }

    /**
     * The decision, without Keycloak types: {@code null} when accepted, otherwise the message
     * key. The order matters: an empty answer says "missing" even if the challenge is stale.
     */
    static String refusalKey(String postedChallenge, String nonce, String expectedChallenge, String issuedAt,
            long now, long validitySeconds, int difficulty) {
        if (nonce == null || nonce.isBlank()) {
            return MANQUANT;
        }
        long issued;
        try {
            issued = issuedAt == null ? Long.MIN_VALUE : Long.parseLong(issuedAt);
        } catch (NumberFormatException e) {
            issued = Long.MIN_VALUE;
        }
        if (expectedChallenge == null || issued == Long.MIN_VALUE || now - issued > validitySeconds) {
            return EXPIRE;
        }
        if (!expectedChallenge.equals(postedChallenge) || !ProofOfWork.isSolved(expectedChallenge, nonce, difficulty)) {
            return INVALIDE;
        }
        return null;
    }

    /** Configured difficulty, or the default when absent or outside 1..28 (a typo must not disable the captcha). */
    static int difficulty(AuthenticatorConfigModel config) {
        long value = configNumber(config, CONFIG_DIFFICULTE, DEFAULT_DIFFICULTE);
        return value >= 1 && value <= MAX_DIFFICULTE ? (int) value : DEFAULT_DIFFICULTE;
    }

    /** The difficulty noted with the challenge; the configured one for a page made before it was noted. */
    static int issuedDifficulty(String noted, int configured) {
        try {
            int value = noted == null ? configured : Integer.parseInt(noted);
            return value >= 1 && value <= MAX_DIFFICULTE ? value : configured;
        } catch (NumberFormatException e) {
            return configured;
        }
    }

    static int perMinute(AuthenticatorConfigModel config) {
        long value = configNumber(config, CONFIG_PAR_MINUTE, DEFAULT_PAR_MINUTE);
        return value > 0 ? (int) Math.min(value, 1_000_000) : DEFAULT_PAR_MINUTE;
    }

    static int perAddress(AuthenticatorConfigModel config) {
        long value = configNumber(config, CONFIG_PAR_ADRESSE, DEFAULT_PAR_ADRESSE);
        return value > 0 ? (int) Math.min(value, 1_000_000) : DEFAULT_PAR_ADRESSE;
    }

    /** Configured lifetime of a challenge in seconds, or the default when absent or not positive. */
    static long validitySeconds(AuthenticatorConfigModel config) {
        long value = configNumber(config, CONFIG_DUREE_VALIDITE, DEFAULT_DUREE_VALIDITE);
        return value > 0 ? value : DEFAULT_DUREE_VALIDITE;
    }

    private static long configNumber(AuthenticatorConfigModel config, String key, long defaultValue) {
        Map<String, String> values = config == null ? null : config.getConfig();
        String value = values == null ? null : values.get(key);
        try {
            return value == null ? defaultValue : Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            return defaultValue;
        }
    }

    @Override
    public String getId() {
        return ID;
    }

    @Override
    public String getDisplayType() {
        return "Captcha hors ligne (preuve de travail)";
    }

    @Override
    public String getReferenceCategory() {
        return "captcha";
    }

    @Override
    public boolean isConfigurable() {
        return true;
    }

    @Override
    public String getHelpText() {
        return "Captcha sans service tiers : le navigateur résout une preuve de travail (SHA-256).";
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        return ProviderConfigurationBuilder.create()
                .property().name(CONFIG_DIFFICULTE).label("Difficulté (bits à zéro)")
                .helpText("Nombre de bits nuls en tête du SHA-256 demandé au navigateur, de 1 à 28 ;"
                        + " chaque bit double le travail. 22 : environ 4 millions d'essais.")
                .type(ProviderConfigProperty.INTEGER_TYPE).defaultValue(DEFAULT_DIFFICULTE).add()
                .property().name(CONFIG_PAR_MINUTE).label("Inscriptions par minute avant hausse")
                .helpText("Au-delà de ce nombre d'inscriptions dans la dernière minute (sur ce nœud),"
                        + " chaque doublement ajoute un bit de difficulté, jusqu'à 4.")
                .type(ProviderConfigProperty.INTEGER_TYPE).defaultValue(DEFAULT_PAR_MINUTE).add()
                .property().name(CONFIG_PAR_ADRESSE).label("Inscriptions par heure et par adresse")
                .helpText("Nombre de comptes créés en une heure depuis une même adresse IP ; au-delà,"
                        + " le formulaire refuse l'inscription en français.")
                .type(ProviderConfigProperty.INTEGER_TYPE).defaultValue(DEFAULT_PAR_ADRESSE).add()
                .property().name(CONFIG_DUREE_VALIDITE).label("Durée de validité (secondes)")
                .helpText("Au-delà, le défi est refusé comme expiré et la page en propose un nouveau.")
                .type(ProviderConfigProperty.INTEGER_TYPE).defaultValue(DEFAULT_DUREE_VALIDITE).add()
                .build();
    }
}
