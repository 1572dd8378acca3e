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
