// rewardlab labelling page: fetch a pair, show its two clips, send the label. No dependencies.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  const $ = (id) => document.getElementById(id);
  let labeller = params.get("labeller") || localStorage.getItem("rewardlab.labeller");
  if (!labeller || !/^[A-Za-z0-9_.-]{1,64}$/.test(labeller)) {
    labeller = "labeller-" + Math.random().toString(36).slice(2, 8);
  }
  localStorage.setItem("rewardlab.labeller", labeller);
  $("labeller").value = labeller;
  let current = null;
  let busy = false;
  let poll = null;  // while there is nothing to label: ask again (the online loop publishes its next stage)

  function withToken(url) {
    return token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;
  }

  async function api(method, url, body) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers["X-Rewardlab-Token"] = token;
    const response = await fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      throw new Error(response.status + ": " + detail);
    }
    return data;
  }

  function showProgress(p) {
    if (!p) return;
    const rate = p.per_minute === null || p.per_minute === undefined ? "–" : p.per_minute;
    $("progress").textContent =
      p.labelled + " of " + p.total + " labelled · yours: " + p.mine + " · " + rate + " labels/min";
  }

  function schedule(ms) {
    clearTimeout(poll);
    poll = setTimeout(() => act(async () => {}), ms);
  }

  async function next() {
    let data;
    try {
      data = await api("GET", "/api/next?labeller=" + encodeURIComponent(labeller));
    } catch (err) {
      current = null;
      $("pair").hidden = true;
      schedule(2000);
      throw new Error("The labelling server is not reachable (" + err.message + "); retrying.");
    }
    showProgress(data.progress);
    $("details").hidden = true;
    if (data.done) {
      current = null;
      $("pair").hidden = true;
      $("done").hidden = false;
      if (data.message) $("done").textContent = data.message;
      schedule(data.waiting ? 1000 : 3000);
      return;
    }
    clearTimeout(poll);
    if (document.body.dataset.queue !== data.queue) {
      document.body.dataset.queue = data.queue;
      loadInfo();
    }
    current = data;
    $("pair").hidden = false;
    $("done").hidden = true;
    $("clip-left").src = withToken(data.clips.left);
    $("clip-right").src = withToken(data.clips.right);
    document.body.dataset.pairId = String(data.pair_id);
  }

  async function act(fn) {
    if (busy) return;
    busy = true;
    $("status").textContent = "";
    try {
      await fn();
      await next();
    } catch (err) {
      $("status").textContent = err.message;
    } finally {
      busy = false;
    }
  }

  const give = (label) => act(async () => {
    if (!current) return;
    const requestId = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random())).replace(/-/g, "");
    await api("POST", "/api/label", { labeller, pair_id: current.pair_id, label, request_id: requestId });
  });
  const skip = () => act(async () => {
    if (current) await api("POST", "/api/skip", { labeller, pair_id: current.pair_id });
  });
  const undo = () => act(async () => { await api("POST", "/api/undo", { labeller }); });

  async function details() {
    const box = $("details");
    if (!box.hidden || !current) { box.hidden = true; return; }
    const meta = await api("GET", "/api/pairs/" + current.pair_id);
    box.textContent = JSON.stringify(meta, null, 2);
    box.hidden = false;
  }

  for (const b of document.querySelectorAll("button[data-label]")) {
    b.addEventListener("click", () => give(b.dataset.label));
  }
  $("btn-skip").addEventListener("click", skip);
  $("btn-undo").addEventListener("click", undo);
  $("btn-details").addEventListener("click", details);
  $("labeller").addEventListener("change", () => {
    const v = $("labeller").value.trim();
    if (/^[A-Za-z0-9_.-]{1,64}$/.test(v)) {
      labeller = v;
      localStorage.setItem("rewardlab.labeller", v);
      act(async () => {});
    } else {
      $("status").textContent = "A labeller name is letters, digits, _ . - (up to 64).";
    }
  });

  const keys = {
    ArrowLeft: () => give("left"), "1": () => give("left"),
    ArrowRight: () => give("right"), "2": () => give("right"),
    ArrowDown: () => give("equal"), "=": () => give("equal"), "3": () => give("equal"),
    s: skip, u: undo, Backspace: undo, i: details,
  };
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement || event.ctrlKey || event.metaKey || event.altKey) return;
    const fn = keys[event.key];
    if (fn) { event.preventDefault(); fn(); }
  });

  function loadInfo() {
    api("GET", "/api/info").then((info) => {
      $("question").textContent = info.question;
      $("task").textContent = info.env ? info.env + ": " + info.description : "";
      $("caption").textContent = info.caption || "";
      if (info.env) document.title = "rewardlab: " + info.env;
    }).catch((err) => { $("status").textContent = err.message; });
  }

  loadInfo();
  act(async () => {});
})();
