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
