// The administration pages: upload progress for a bank import, live progress of a scan.
"use strict";
(() => {
  const form = document.getElementById("import-form");
  if (form && window.FormData && window.XMLHttpRequest) {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const bar = document.getElementById("import-progress");
      const status = document.getElementById("import-status");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) {
          bar.hidden = false;
          bar.value = Math.round((100 * e.loaded) / e.total);
          status.textContent = e.loaded < e.total ? "uploading " + bar.value + "%" : "importing…";
        }
      });
      xhr.addEventListener("load", () => {
        const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        const fresh = page.getElementById("import-result");
        const banks = page.getElementById("banks");
        if (fresh) document.getElementById("import-result").replaceWith(fresh);
        else status.textContent = "import failed (" + xhr.status + ")";
        if (banks) document.getElementById("banks").replaceWith(banks);
        bar.hidden = true;
        if (fresh) status.textContent = "";
      });
      xhr.addEventListener("error", () => { status.textContent = "upload failed"; });
      xhr.send(new FormData(form));
    });
  }

  const box = document.getElementById("scan-progress");
  if (box && box.dataset.poll === "on") {
    const set = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = v; };
    const poll = () => {
      fetch("/admin/scans/progress", { headers: { accept: "application/json" } })
        .then((r) => r.json())
        .then((data) => {
          const job = data.job;
          if (!job) return;
          set("scan-state", job.state);
          set("scan-seen", job.seen);
          set("scan-analysed", job.analysed);
          set("scan-failed", job.failed);
          set("scan-skipped", job.skipped);
          if (job.state === "running") setTimeout(poll, 1000);
          else window.location.reload();
        })
        .catch(() => setTimeout(poll, 3000));
    };
    setTimeout(poll, 500);
  }
})();
