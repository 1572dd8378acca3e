// The registration form: bring up known petitioners by phone or ID number, and let the
// clerk link or merge a similar case. Works without it; it only saves typing.
(function () {
  const form = document.getElementById("registration");
  if (!form) return;
  const box = document.getElementById("known-petitioners");
  const field = (name) => form.elements.namedItem(name);

  function showOutcomeFields() {
    const outcome = (form.querySelector("input[name=outcome]:checked") || {}).value;
    const show = { tier: outcome === "accept", merge_into: outcome === "merge", answer: outcome === "answer",
                   refusal_reason: outcome === "refuse", refusal_guidance: outcome === "refuse" };
    for (const [name, visible] of Object.entries(show)) {
      const wrapper = document.getElementById("field-" + name);
      if (wrapper) wrapper.hidden = !visible && !wrapper.classList.contains("has-error");
    }
  }
  form.querySelectorAll("input[name=outcome]").forEach((input) => input.addEventListener("change", showOutcomeFields));
  showOutcomeFields();

  async function lookup() {
    const phone = field("phone").value.trim();
    const idNumber = field("id_number").value.trim();
    if (phone.length < 7 && idNumber.length < 18) return;
    // By POST: a phone or ID number in a URL would end up in the access logs.
    const body = new URLSearchParams({ phone: phone, id_number: idNumber });
    const response = await fetch(form.dataset.lookup, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": field("csrfmiddlewaretoken").value },
    });
    if (!response.ok) return;
    const data = await response.json();
    box.replaceChildren();
    if (!data.petitioners.length && !data.similar.length) { box.hidden = true; return; }
    for (const person of data.petitioners) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small";
      button.textContent = `使用已有信访人：${person.name} ${person.phone}${person.id_number ? " " + person.id_number : ""}`;
      button.addEventListener("click", () => {
        field("petitioner_id").value = person.id;
        for (const key of ["name", "phone", "phone_alt", "id_number", "gender", "age", "occupation", "address", "email"]) {
          if (field(key) && person[key] !== null) field(key).value = person[key];
        }
        field("wants_confidentiality").checked = person.wants_confidentiality;
        button.textContent = `✓ ${person.name}`;
      });
      box.append(button);
    }
    if (data.similar.length) {
      const list = document.createElement("p");
      list.textContent = "此前的案件：" + data.similar.map((c) => `${c.number}（${c.state}）${c.summary}`).join("；");
      box.append(list);
    }
    box.hidden = false;
  }
  field("phone").addEventListener("change", lookup);
  field("id_number").addEventListener("change", lookup);

  // 分诊建议 as the clerk types (debounced): category, tier, department with the source.
  const triageBox = document.getElementById("triage-suggestion");
  let pending = null;
  async function suggest() {
    const body = new URLSearchParams();
    for (const key of ["summary", "content", "place", "demands"]) {
      if (field(key)) body.append(key, field(key).value);
    }
    const response = await fetch(form.dataset.suggest, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": field("csrfmiddlewaretoken").value },
    });
    if (!response.ok || !triageBox) return;
    const data = await response.json();
    triageBox.replaceChildren();
    const line = (label, options, apply) => {
      if (!options.length) return;
      const p = document.createElement("p");
      p.append(label + "：");
      options.forEach((option) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "small";
        button.textContent = `${option.name}（${option.reason}，${Math.round(option.confidence * 100)}%）`;
        if (apply) button.addEventListener("click", () => apply(option));
        p.append(button, " ");
      });
      triageBox.append(p);
    };
    if (data.safety) {
      const alert = document.createElement("p");
      alert.className = "alert";
      alert.textContent = `涉及“${data.safety.phrases.join("、")}”：响应级别至少 ${data.safety.floor}`;
      triageBox.append(alert);
    }
    line("建议分类", data.categories, (option) => { if (field("category")) field("category").value = option.id; });
    line("建议级别", data.tiers, (option) => { if (field("tier")) field("tier").value = option.code; });
    line("建议主办", data.departments, null);
    triageBox.hidden = !triageBox.children.length;
  }
  for (const key of ["summary", "content", "place"]) {
    if (!field(key)) continue;
    field(key).addEventListener("input", () => {
      clearTimeout(pending);
      pending = setTimeout(suggest, 600);
    });
  }

  form.addEventListener("click", (event) => {
    const link = event.target.dataset.link;
    const merge = event.target.dataset.merge;
    if (link) { field("earlier_case").value = link; field("earlier_case").focus(); }
    if (merge) {
      field("merge_into").value = merge;
      form.querySelector("input[name=outcome][value=merge]").checked = true;
      showOutcomeFields();
    }
  });
})();

// A counter form for fast hands: Enter saves (the save button is the form's first submit
// button); the 12345 ticket fields only for that channel; after a failed submit the cursor
// goes to the first field in error; Alt+S / Alt+J / Alt+K and a `?` help panel.
(function () {
  const form = document.getElementById("registration");
  if (!form) return;
  const channel = form.elements.namedItem("channel");

  function showPlatformFields() {
    for (const wrapper of form.querySelectorAll("[data-for-channel]")) {
      const keep = wrapper.querySelector(".has-error") ||
        Array.from(wrapper.querySelectorAll("input")).some((input) => input.value);
      wrapper.hidden = !(channel && channel.value === wrapper.dataset.forChannel) && !keep;
    }
  }
  if (channel) channel.addEventListener("change", showPlatformFields);
  showPlatformFields();

  function focusable(field) {
    return Array.from(field.querySelectorAll("input, select, textarea"))
      .find((control) => control.type !== "hidden" && control.tabIndex >= 0 && !control.disabled);
  }

  const firstError = Array.from(form.querySelectorAll(".field.has-error"))
    .find((field) => !field.closest("[hidden]"));
  if (firstError && !form.dataset.checked) {
    const details = firstError.closest("details");
    if (details) details.open = true;
    const control = focusable(firstError);
    if (control) control.focus({ preventScroll: true });
    firstError.scrollIntoView({ block: "center" });
  } else if (form.dataset.checked) {
    const save = document.getElementById("save-registration");
    if (save) save.focus({ preventScroll: true });
    const similar = document.getElementById("similar");
    if (similar) similar.scrollIntoView({ block: "start" });
  }

  // A removed staged file is struck through at once; it goes with the next submission.
  form.addEventListener("change", (event) => {
    if (event.target.name === "drop_staged") {
      event.target.closest("li").classList.toggle("removed", event.target.checked);
    }
  });

  const help = document.getElementById("shortcut-help");
  const toggle = document.getElementById("shortcut-toggle");
  function showHelp(open) {
    if (!help) return;
    help.hidden = !open;
    if (toggle) toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", () => showHelp(help.hidden));
  }

  function typing(target) {
    return target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(target.type));
  }

  // Alt with a letter: clear of the browsers' own (Alt+D, Alt+F, Alt+E) and of the Chinese
  // IMEs' (Ctrl+Space, Ctrl+Shift, Shift); matched by the key's place (event.code), so
  // a keyboard layout or an IME that is on changes nothing.
  const ALT_KEYS = {
    KeyS: () => form.requestSubmit(document.getElementById("save-registration")),
    KeyJ: () => form.requestSubmit(document.getElementById("check-duplicates")),
    KeyK: () => { const box = document.getElementById("category-filter") || document.getElementById("id_category"); if (box) box.focus(); },
  };
  document.addEventListener("keydown", (event) => {
    if (event.isComposing || event.keyCode === 229) return;
    if (event.altKey && !event.ctrlKey && !event.metaKey && ALT_KEYS[event.code]) {
      event.preventDefault();
      ALT_KEYS[event.code]();
    } else if ((event.key === "?" || event.key === "？") && !typing(event.target)) {
      event.preventDefault();
      showHelp(help.hidden);
    } else if (event.key === "Escape" && help && !help.hidden) {
      showHelp(false);
    }
  });
})();
