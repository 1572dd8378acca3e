// The counter's category picker: type a name or its pinyin initials ("zdjy" finds 占道经营)
// into a box above the select, pick with the arrows and Enter (or a click). The select
// stays the form's field and works alone without JavaScript; the pinyin comes from the
// server (data-initials, data-pinyin on each option, intake.forms.CategorySelect).
(function () {
  const select = document.getElementById("id_category");
  if (!select) return;
  const MAX_SHOWN = 8;
  const options = Array.from(select.options).filter((option) => option.value).map((option) => ({
    value: option.value,
    name: option.textContent.trim(),
    group: option.parentElement.tagName === "OPTGROUP" ? option.parentElement.label : "",
    initials: (option.dataset.initials || "").toLowerCase(),
    pinyin: (option.dataset.pinyin || "").toLowerCase(),
  }));

  const picker = document.createElement("div");
  picker.className = "category-picker";
  const input = document.createElement("input");
  input.type = "text";
  input.id = "category-filter";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.placeholder = "输入名称或拼音首字母，如 zdjy";
  input.setAttribute("aria-label", "按名称或拼音首字母查找分类");
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", "category-matches");
  input.setAttribute("aria-keyshortcuts", "Alt+K");
  const list = document.createElement("ul");
  list.id = "category-matches";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "匹配的分类");
  list.hidden = true;
  picker.append(input, list);
  select.before(picker);
  // The box stands for the select at the keyboard: one Tab stop, not two.
  select.tabIndex = -1;

  let shown = [];
  let active = 0;

  // Lower is better: the name's start, the initials' or pinyin's start, anywhere in them.
  function rank(option, query) {
    if (option.name.startsWith(query)) return 0;
    if (option.initials.startsWith(query) || option.pinyin.startsWith(query)) return 1;
    if (option.name.includes(query)) return 2;
    if (option.initials.includes(query) || option.pinyin.includes(query)) return 3;
    if (option.group.includes(query)) return 4;
    return -1;
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function render() {
    list.replaceChildren();
    shown.forEach((option, index) => {
      const item = document.createElement("li");
      item.id = "category-match-" + option.value;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", index === active ? "true" : "false");
      item.dataset.value = option.value;
      item.append(option.name);
      if (option.group) {
        const group = document.createElement("small");
        group.textContent = option.group;
        item.append(group);
      }
      list.append(item);
    });
    list.hidden = !shown.length;
    input.setAttribute("aria-expanded", shown.length ? "true" : "false");
    if (shown.length) input.setAttribute("aria-activedescendant", "category-match-" + shown[active].value);
  }

  function filter() {
    const query = input.value.trim().toLowerCase();
    if (!query) { shown = []; close(); return; }
    shown = options.map((option) => [rank(option, query), option])
      .filter(([score]) => score >= 0)
      .sort((a, b) => a[0] - b[0])
      .slice(0, MAX_SHOWN)
      .map(([, option]) => option);
    active = 0;
    render();
  }

  function choose(option) {
    select.value = option.value;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    input.value = option.name;
    shown = [];
    close();
  }

  input.addEventListener("input", filter);
  input.addEventListener("keydown", (event) => {
    if (event.isComposing || event.keyCode === 229) return; // the IME is still composing
    if (list.hidden || !shown.length) return; // Enter saves the form, as everywhere
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
      render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      if (event.key === "Enter") event.preventDefault(); // the first Enter picks, the next saves
      choose(shown[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  // mousedown, not click: the box keeps its focus, so blur does not close the list first.
  list.addEventListener("mousedown", (event) => {
    const item = event.target.closest("li[role=option]");
    if (!item) return;
    event.preventDefault();
    const option = options.find((candidate) => candidate.value === item.dataset.value);
    if (option) choose(option);
  });
  input.addEventListener("blur", close);
  select.addEventListener("change", () => {
    const option = options.find((candidate) => candidate.value === select.value);
    input.value = option ? option.name : "";
  });
  const current = options.find((candidate) => candidate.value === select.value);
  if (current) input.value = current.name;
})();
