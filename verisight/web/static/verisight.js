// Verisight: keyboard shortcuts and reveal-on-request. Loaded as a file so that the CSP can
// forbid inline scripts. Every reveal is a POST that the server audits; the clear image is
// only served while that reveal is open, and navigation closes it.
(function () {
  "use strict";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const post = (url) =>
    fetch(url, { method: "POST", headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin", keepalive: true });
  const typing = (el) => el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && !["radio", "checkbox"].includes(el.type)) || el.tagName === "SELECT");

  function setupCategory(form) {
    const outcome = form.querySelector('input[name="outcome"]:checked');
    form.querySelectorAll("fieldset[data-only-for]").forEach((fs) => {
      const allowed = fs.dataset.onlyFor.split(" ");
      fs.disabled = !(outcome && allowed.includes(outcome.value));
    });
  }

  function itemPage() {
    const item = document.getElementById("item");
    if (!item) return;
    const sha = item.dataset.sha;
    const mode = item.dataset.revealMode;
    const img = document.getElementById("media");
    const state = document.getElementById("reveal-state");
    const form = document.getElementById("assess");
    let revealed = false;
    // while a video plays its reveal stays open on the server: letting go of `v` only
    // shields the image again; Stop, leaving the page or another item close it
    let playing = false;

    async function reveal() {
      if (!img || revealed) return;
      revealed = true;
      const res = await post(`/media/${sha}/reveal`);
      if (!res.ok || !revealed) { revealed = false; return; }
      img.src = img.dataset.revealed + "?t=" + Date.now();
      img.classList.add("revealed"); img.classList.remove("shielded");
      if (state) state.textContent = "revealed";
    }
    function conceal() {
      if (!img || !revealed) return;
      revealed = false;
      img.src = img.dataset.shielded + "?t=" + Date.now();
      img.classList.remove("revealed"); img.classList.add("shielded");
      if (state) state.textContent = "shielded";
      if (!playing) post(`/media/${sha}/conceal`);
    }
    const video = videoControls(sha, img, {
      started: () => { playing = true; },
      stopped: () => { playing = false; if (revealed) conceal(); else post(`/media/${sha}/conceal`); },
      shown: () => revealed,
    });
    if (img) {
      if (mode === "hover") {
        img.addEventListener("mouseenter", reveal);
        img.addEventListener("mouseleave", conceal);
      } else if (mode === "click") {
        img.addEventListener("click", () => (revealed ? conceal() : reveal()));
      } else {
        img.addEventListener("mousedown", reveal);
        img.addEventListener("mouseup", conceal);
        img.addEventListener("mouseleave", conceal);
      }
      window.addEventListener("blur", () => { if (mode !== "click") conceal(); });
    }
    window.addEventListener("pagehide", () => {
      const wasPlaying = playing;
      playing = false;
      if (revealed) conceal(); else if (wasPlaying) post(`/media/${sha}/conceal`);
    });
    if (form) {
      setupCategory(form);
      form.addEventListener("change", () => setupCategory(form));
    }
    document.addEventListener("keydown", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      // keys inside the "apply to members" form act on it, never on the assessment form
      if (ev.target && ev.target.closest && ev.target.closest("#propagate")) return;
      if (typing(ev.target)) {
        if (ev.key === "Escape") ev.target.blur();
        return;
      }
      const k = ev.key;
      if (k === "v") {
        ev.preventDefault();
        if (ev.repeat) return;
        if (mode === "click") { revealed ? conceal() : reveal(); } else { reveal(); }
        return;
      }
      if (video && (k === "," || k === "." || k === "/")) {
        ev.preventDefault();
        video.step(k === "," ? -1 : k === "." ? 1 : 0);
        return;
      }
      if (k === "Enter" && form) { ev.preventDefault(); form.requestSubmit(); return; }
      if (k === "j") { window.location.href = item.dataset.next; return; }
      if (k === "r") { const h = document.getElementById("history-link"); if (h) h.click(); return; }
      if (k === "m" && form) { ev.preventDefault(); form.querySelector("textarea").focus(); return; }
      if (k === "Escape") { window.location.href = "/queue"; return; }
      if (!form) return;
      const input = form.querySelector(`fieldset:not([disabled]) input[data-key="${CSS.escape(k)}"]`);
      if (input) { ev.preventDefault(); input.checked = true; input.focus(); setupCategory(form); }
    });
    document.addEventListener("keyup", (ev) => {
      if (ev.key === "v" && mode !== "click") conceal();
    });
  }

  // A video's item page: step through the contact sheet's frames (shielded tiles, revealed
  // with the same `v`) and play the original only after an audited Play; the <video> element
  // is muted per the welfare settings, never autoplays or loops and preloads nothing.
  function videoControls(sha, img, hooks) {
    const viewer = document.getElementById("video-viewer");
    if (!viewer) return null;
    const times = Array.from(viewer.querySelectorAll(".frame-times li"));
    const label = document.getElementById("frame-state");
    const sheetLabel = label ? label.textContent : "";
    let index = -1;  // -1: the whole contact sheet

    function show() {
      if (!img) return;
      const base = index < 0 ? null : `/media/${sha}/frame/${index}`;
      img.dataset.shielded = base ? `${base}/shielded.jpg` : img.dataset.sheetShielded;
      img.dataset.revealed = base ? `${base}/revealed.jpg` : img.dataset.sheetRevealed;
      img.src = (hooks.shown() ? img.dataset.revealed : img.dataset.shielded) + "?t=" + Date.now();
      if (label) {
        label.textContent = index < 0 ? sheetLabel
          : `Frame ${index + 1} of ${times.length} at ${times[index].dataset.t} s`;
      }
    }
    function step(delta) {
      if (!times.length) return;
      if (delta === 0) index = -1;
      else if (index < 0) index = delta > 0 ? 0 : times.length - 1;
      else index = Math.min(times.length - 1, Math.max(0, index + delta));
      show();
    }
    const on = (id, fn) => { const el = document.getElementById(id); if (el) el.addEventListener("click", fn); };
    on("frame-prev", () => step(-1));
    on("frame-next", () => step(1));
    on("frame-sheet", () => step(0));

    const play = document.getElementById("play");
    const stop = document.getElementById("stop");
    const player = document.getElementById("player");
    if (play && stop && player) {
      player.autoplay = false;
      player.loop = false;
      player.preload = "none";
      play.addEventListener("click", async () => {
        const res = await post(play.dataset.play);
        if (!res.ok) { play.textContent = "Playback refused"; play.disabled = true; return; }
        hooks.started();
        player.muted = player.dataset.muted === "yes";
        player.src = play.dataset.src;
        player.hidden = false; stop.hidden = false; play.hidden = true;
        player.play().catch(() => {});
      });
      stop.addEventListener("click", () => {
        player.pause();
        player.removeAttribute("src");
        player.load();
        player.hidden = true; stop.hidden = true; play.hidden = false;
        hooks.stopped();
      });
    }
    return { step };
  }

  function queuePage() {
    if (document.body.dataset.page !== "queue") return;
    document.addEventListener("keydown", (ev) => {
      if (typing(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const start = document.getElementById("start");
      if ((ev.key === "Enter" || ev.key === "s") && start) { ev.preventDefault(); start.click(); }
      if (ev.key === "G") { const g = document.getElementById("grid-link"); if (g) g.click(); }
    });
  }

  function gridPage() {
    const form = document.getElementById("grid-form");
    if (!form) return;
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
    });
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "?" && !typing(ev.target)) {
      const help = document.getElementById("help");
      if (help) help.hidden = !help.hidden;
    }
  });
  document.addEventListener("DOMContentLoaded", () => { itemPage(); queuePage(); gridPage(); });
})();
