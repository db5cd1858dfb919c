// Offline captcha of the registration form (form action « demarches-captcha », see
// keycloak/README.md): ticking « Je ne suis pas un robot » makes the browser find an
// integer n >= 0 such that SHA-256(UTF-8(challenge + ":" + n)) starts with `difficulty`
// zero bits, then puts n into the hidden input « pow-nonce ». The server checks the answer;
// the submit button is never disabled here. The same file runs as the search's workers.
//
// Markup (register.ftl): fieldset#captcha with data-pow-challenge, data-pow-difficulty and
// the status texts (data-texte-en-cours, data-texte-reussi, data-texte-echec), the checkbox
// #captcha-case, the hidden #pow-nonce and the live status line #captcha-statut.

const DEFAULT_DIFFICULTY = 22;
const CHUNK = 1 << 16; // nonces a worker tries before taking its next range
const encoder = new TextEncoder();

/** Number of zero bits at the start of `bytes`, most significant bit first. */
export function leadingZeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
    } else {
      return bits + Math.clz32(byte) - 24;
    }
  }
  return bits;
}

/** SHA-256 of `text` (UTF-8), by the plain implementation below (kept for the tests). */
export function sha256(text) {
  return sha256Plain(encoder.encode(text));
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = new Uint32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/**
 * A searcher for one challenge of 32 ASCII characters. The message
 * `challenge + ":" + n` fits one SHA-256 block, and its first 8 words (the challenge) never
 * change: the state after the 8 rounds that read them is computed once, and each nonce
 * costs the 56 other rounds only, with no allocation.
 */
export function searcher(challenge) {
  const head = encoder.encode(challenge);
  if (head.length !== 32) {
    return null;
  }
  const view = new DataView(head.buffer);
  const w = new Uint32Array(64);
  for (let t = 0; t < 8; t++) {
    w[t] = view.getUint32(t * 4);
  }
  let [a, b, c, d, e, f, g, h] = H0;
  for (let t = 0; t < 8; t++) {
    const t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
      ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
    const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
      ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  const mid = new Int32Array([a, b, c, d, e, f, g, h]);
  const first = H0[0] | 0;
  const bytes = new Uint8Array(16); // bytes 32..47 of the block: ":" digits 0x80 zeros

  /** The first nonce in [start, start + count) whose hash starts with `bits` zero bits. */
  return function search(start, count, bits) {
    const text = String(start);
    let size = text.length;
    for (let k = 0; k < size; k++) {
      bytes[1 + k] = text.charCodeAt(k);
    }
    const shift = 32 - bits;
    const m0 = mid[0], m1 = mid[1], m2 = mid[2], m3 = mid[3];
    const m4 = mid[4], m5 = mid[5], m6 = mid[6], m7 = mid[7];
    for (let i = 0; i < count; i++) {
      bytes.fill(0, 1 + size);
      bytes[0] = 58; // ":"
      bytes[1 + size] = 0x80;
      w[8] = (bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3];
      w[9] = (bytes[4] << 24) | (bytes[5] << 16) | (bytes[6] << 8) | bytes[7];
      w[10] = (bytes[8] << 24) | (bytes[9] << 16) | (bytes[10] << 8) | bytes[11];
      w[11] = (bytes[12] << 24) | (bytes[13] << 16) | (bytes[14] << 8) | bytes[15];
      w[12] = 0;
      w[13] = 0;
      w[14] = 0;
      w[15] = (33 + size) * 8;
      for (let t = 16; t < 64; t++) {
        const x = w[t - 15];
        const y = w[t - 2];
        w[t] = (w[t - 16] + (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w[t - 7] + (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) | 0;
      }
      let a2 = m0, b2 = m1, c2 = m2, d2 = m3, e2 = m4, f2 = m5, g2 = m6, h2 = m7;
      for (let t = 8; t < 64; t++) {
        const t1 = (h2 + (((e2 >>> 6) | (e2 << 26)) ^ ((e2 >>> 11) | (e2 << 21)) ^
          ((e2 >>> 25) | (e2 << 7))) + ((e2 & f2) ^ (~e2 & g2)) + K[t] + w[t]) | 0;
        const t2 = ((((a2 >>> 2) | (a2 << 30)) ^ ((a2 >>> 13) | (a2 << 19)) ^
          ((a2 >>> 22) | (a2 << 10))) + ((a2 & b2) ^ (a2 & c2) ^ (b2 & c2))) | 0;
        h2 = g2;
        g2 = f2;
        f2 = e2;
        e2 = (d2 + t1) | 0;
        d2 = c2;
        c2 = b2;
        b2 = a2;
        a2 = (t1 + t2) | 0;
      }
      if (((first + a2) >>> shift) === 0) {
        return start + i;
      }
      // n + 1, on the ASCII digits
      let k = size;
      while (k >= 1 && bytes[k] === 57) {
        bytes[k] = 48;
        k--;
      }
      if (k >= 1) {
        bytes[k]++;
      } else {
        bytes.copyWithin(2, 1, 1 + size);
        bytes[1] = 49;
        size++;
      }
    }
    return -1;
  };
}

/**
 * A nonce n >= 0 whose hash has `difficulty` leading zero bits (1 to 28), found by as many
 * workers as the device has cores (up to 4), each taking ranges of CHUNK nonces in turn;
 * on the page's own thread when workers are not available.
 */
export function solve(challenge, difficulty) {
  const workers = Math.max(1, Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1));
  if (typeof Worker === "undefined") {
    return solveHere(challenge, difficulty);
  }
  return new Promise((resolve) => {
    const running = [];
    let settled = false;
    const stop = () => running.forEach((worker) => worker.terminate());
    // A browser without module workers (they load this file as a classic script, where
    // `export` fails) or any worker error: the page's own thread searches instead.
    const fallBack = () => {
      if (!settled) {
        settled = true;
        stop();
        resolve(solveHere(challenge, difficulty));
      }
    };
    try {
      for (let index = 0; index < workers; index++) {
        const worker = new Worker(import.meta.url, { type: "module" });
        worker.onmessage = (message) => {
          if (!settled) {
            settled = true;
            stop();
            resolve(message.data.nonce);
          }
        };
        worker.onerror = fallBack;
        running.push(worker);
        worker.postMessage({ challenge, difficulty, index, workers });
      }
    } catch {
      fallBack();
    }
  });
}

async function solveHere(challenge, difficulty) {
  const search = searcher(challenge);
  for (let start = 0; ; start += CHUNK) {
    const found = search(start, CHUNK, difficulty);
    if (found >= 0) {
      return found;
    }
    await new Promise((resolve) => setTimeout(resolve, 0)); // let the page breathe
  }
}

/** In a worker: search the ranges index, index + workers, … and post the first found. */
function work({ challenge, difficulty, index, workers }) {
  const search = searcher(challenge);
  for (let chunk = index; ; chunk += workers) {
    const found = search(chunk * CHUNK, CHUNK, difficulty);
    if (found >= 0) {
      globalThis.postMessage({ nonce: found });
      return;
    }
  }
}

function setUp() {
  const fieldset = document.getElementById("captcha");
  const box = document.getElementById("captcha-case");
  const nonce = document.getElementById("pow-nonce");
  const status = document.getElementById("captcha-statut");
  if (!fieldset || !box || !nonce || !status) {
    return;
  }
  const form = box.form ?? fieldset.closest("form");
  const challenge = fieldset.dataset.powChallenge ?? "";
  const parsed = Number.parseInt(fieldset.dataset.powDifficulty ?? "", 10);
  const difficulty = Number.isFinite(parsed) && parsed >= 0 ? parsed : DEFAULT_DIFFICULTY;
  const texts = {
    running: fieldset.dataset.texteEnCours ?? "",
    solved: fieldset.dataset.texteReussi ?? "",
    failed: fieldset.dataset.texteEchec ?? "",
  };

  let state = nonce.value ? "solved" : "idle"; // idle | running | solved
  let submitWhenSolved = null;

  const show = (text, kind) => {
    status.textContent = text;
    status.className = `demarches-captcha__statut demarches-captcha__statut--${kind}`;
  };

  const run = async () => {
    state = "running";
    fieldset.setAttribute("aria-busy", "true");
    show(texts.running, "en-cours");
    try {
      const n = await solve(challenge, difficulty);
      nonce.value = String(n);
      state = "solved";
      box.checked = true;
      show(texts.solved, "reussi");
      if (submitWhenSolved && form) {
        const submitter = submitWhenSolved;
        submitWhenSolved = null;
        form.requestSubmit(submitter instanceof HTMLElement ? submitter : undefined);
      }
    } catch (error) {
      console.error("captcha", error);
      state = "idle";
      submitWhenSolved = null;
      box.checked = false;
      show(texts.failed, "echec");
    } finally {
      fieldset.removeAttribute("aria-busy");
    }
  };

  box.addEventListener("change", () => {
    if (state !== "idle") {
      // A running or found proof stays: the box stays ticked.
      box.checked = true;
      return;
    }
    if (box.checked) {
      run();
    }
  });

  // Submitted while the browser is still computing: send the form as soon as it is done.
  form?.addEventListener("submit", (event) => {
    if (state === "running") {
      event.preventDefault();
      submitWhenSolved = event.submitter ?? true;
    }
  });

  if (state === "solved") {
    box.checked = true;
    show(texts.solved, "reussi");
  } else if (box.checked) {
    // The browser restored a ticked box (back navigation) without an answer.
    run();
  }
}

// A plain SHA-256 (FIPS 180-4) of any message: the reference the searcher is checked against.
export function sha256Plain(data) {
  const length = data.length;
  const blocks = Math.ceil((length + 9) / 64);
  const padded = new Uint8Array(blocks * 64);
  padded.set(data);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
  view.setUint32(padded.length - 4, (length * 8) >>> 0);

  const h = new Uint32Array(H0);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let t = 0; t < 16; t++) {
      w[t] = view.getUint32(offset + t * 4);
    }
    for (let t = 16; t < 64; t++) {
      const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
      const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let t = 0; t < 64; t++) {
      const s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + s1 + ch + K[t] + w[t]) >>> 0;
      const s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (s0 + maj) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  h.forEach((word, i) => outView.setUint32(i * 4, word));
  return out;
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
} else if (typeof globalThis.postMessage === "function" && typeof globalThis.onmessage !== "undefined") {
  globalThis.onmessage = (message) => work(message.data);
}
