// The TestData Buddy page: build a dataset spec, preview it, submit it, follow the job and
// download the file. Plain DOM, no framework, no build step; only this origin's API is called.
// The API key lives in sessionStorage (this tab only) and goes out only as `Authorization`.
'use strict';

const KEY_STORAGE = 'tdbuddy.apiKey';
const DRAFT_STORAGE = 'tdbuddy.draft';
const LOCALE_CHOSEN_STORAGE = 'tdbuddy.localeChosen';
const LANG_STORAGE = 'tdbuddy.lang';
const PREVIEW_DELAY_MS = 600;
const HISTORY_PAGE = 10;
const DEFAULT_RETRY_SECONDS = 2;
const SPEC_KEYS = ['name', 'rows', 'format', 'locale', 'seed', 'compression', 'fields'];
// Options every type has, as the catalog lists them; `name` has its own input.
const COMMON_LABELS = {
  null_rate: 'opt.null_rate',
  unique: 'opt.unique',
  locale: 'opt.locale',
  edge_case_rate: 'opt.edge_case_rate',
};
const CATEGORY_ORDER = Object.keys(CATEGORY_NAMES);
const TOP_LEVEL_LABELS = {
  name: 'spec.name',
  rows: 'spec.rows',
  seed: 'spec.seed',
  locale: 'spec.locale',
  format: 'spec.format',
  compression: 'spec.gzip',
};

const $ = (id) => document.getElementById(id);

const page = {
  lang: 'en',
  choices: { locales: ['en_US', 'ja_JP'], primary_locales: ['en_US', 'ja_JP'], formats: ['csv'], compressions: ['none'] },
  catalog: null, // GET /v1/field-types
  types: new Map(), // type name → its catalog entry
  fields: [], // {id, name, type, values: {option: text | boolean}, raw: {option: JSON value}}
  extras: {}, // spec settings the form does not edit, kept as they came
  // Whether the builder's locale was picked on purpose (in the select, or by a loaded or
  // suggested spec) rather than taken from the page's language: only then does the AI box
  // send it, so that "500 Japanese customers" asked on the English page is ja_JP data.
  localeChosen: false,
  nextFieldId: 1,
  specError: null, // the last 422 of a preview or submit, shown beside the builder
  preview: null, // the last preview answer, and whether its seed was the user's
  previewStale: false,
  previewBusy: false,
  previewSeq: 0,
  previewTimer: 0,
  previewAbort: null,
  job: null, // the job followed on this page
  jobTimer: 0,
  pollRun: 0, // the one polling loop that may go on; an older one ends at its next step
  pendingSubmit: null, // {body, key}: a retried submit reuses its Idempotency-Key
  history: [],
  historyCursor: null,
  account: null,
};

// --- small helpers -------------------------------------------------------------------------

function t(key, params = {}) {
  const entry = MESSAGES[key];
  const text = entry ? entry[page.lang] || entry.en : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'checked' || name === 'disabled' || name === 'hidden') node[name] = Boolean(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

function uiLocale() {
  return page.lang === 'ja' ? 'ja-JP' : 'en-GB';
}

function formatNumber(value) {
  const number = Number(value);
  return Number.isFinite(number) ? number.toLocaleString(uiLocale()) : String(value);
}

function formatBytes(size) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = Number(size);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toLocaleString(uiLocale(), { maximumFractionDigits: unit ? 1 : 0 })} ${units[unit]}`;
}

function formatTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(uiLocale(), { dateStyle: 'medium', timeStyle: 'short' });
}

// JSON with integers beyond 2^53 kept exact: read as digit strings, written back as numbers.
function parseJson(text) {
  return JSON.parse(text, (key, value, context) =>
    typeof value === 'number' &&
    !Number.isSafeInteger(value) &&
    context &&
    /^-?\d+$/.test(context.source)
      ? context.source
      : value,
  );
}

const BIG_MARK = '\u0000big:';

function toJson(value, indent) {
  const text = JSON.stringify(value, (key, v) => (typeof v === 'bigint' ? BIG_MARK + v : v), indent);
  return text.replace(/"\\u0000big:(-?\d+)"/g, '$1');
}

// An integer as typed: a number, a BigInt past 2^53, or the text itself so the API names it.
function integerOf(text) {
  const trimmed = String(text).trim();
  if (trimmed === '') return undefined;
  if (!/^-?\d+$/.test(trimmed)) return trimmed;
  const number = Number(trimmed);
  return Number.isSafeInteger(number) ? number : BigInt(trimmed);
}

function numberOf(text) {
  const trimmed = String(text).trim();
  if (trimmed === '') return undefined;
  if (/^-?\d+$/.test(trimmed)) return integerOf(trimmed);
  const number = Number(trimmed);
  return Number.isFinite(number) ? number : trimmed;
}

// An Idempotency-Key: a random UUID (crypto.randomUUID needs a secure context; this does not).
function newUuid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function setStatus(id, text, kind = '') {
  const node = $(id);
  node.textContent = text;
  node.className = `status ${kind}`.trim();
}

// --- talking to the API --------------------------------------------------------------------

class ApiFailure extends Error {
  constructor(status, body, headers) {
    super(body.detail || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    const retry = headers ? Number(headers.get('Retry-After')) : NaN;
    this.retryAfter = Number.isFinite(retry) ? retry : null;
  }
}

class NeedsKey extends Error {}

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || '';
}

async function api(method, path, { body, headers = {}, signal, auth = true } = {}) {
  const sent = { Accept: 'application/json', ...headers };
  if (auth) {
    const key = apiKey();
    if (!key) throw new NeedsKey();
    sent.Authorization = `Bearer ${key}`;
  }
  if (body !== undefined) sent['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers: sent, body, signal, credentials: 'omit' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiFailure(0, { error: 'network', detail: t('error.network') });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? parseJson(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const shaped = data && typeof data === 'object' && 'detail' in data;
    throw new ApiFailure(
      response.status,
      shaped ? data : { error: 'http_error', detail: text.slice(0, 300) || response.statusText },
      response.headers,
    );
  }
  return { data, headers: response.headers };
}

function retryAfterOf(headers) {
  const seconds = Number(headers && headers.get('Retry-After'));
  return Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_RETRY_SECONDS;
}

// Where a spec error points, in words: "field 2 (age), max (fields[1].max)".
function whereOf(path) {
  const match = /^fields\[(\d+)\](?:\.(.+))?$/.exec(path);
  if (match) {
    const index = Number(match[1]);
    const field = page.fields[index];
    const params = { n: index + 1, name: field ? field.name : '?', option: match[2] };
    const words = match[2] ? t('where.field', params) : t('where.field_only', params);
    return page.lang === 'ja' ? `${words}（${path}）` : `${words} (${path})`;
  }
  const label = TOP_LEVEL_LABELS[path];
  return label ? `${t(label)} (${path})` : path;
}

function describeError(error) {
  if (error instanceof NeedsKey) return t('key.missing');
  if (!(error instanceof ApiFailure)) return String(error.message || error);
  const { field, detail } = error.body;
  if (error.status === 0) return t('error.network');
  if (error.status === 401) return t('error.unauthorized');
  // A plan's limit says when it resets; the rate limiter only how long to wait.
  if (error.status === 429 && error.body.error === 'rate_limited') {
    return t('error.rate', { seconds: error.retryAfter || 60 });
  }
  if (error.status === 422 && field) return t('error.spec', { where: whereOf(field), detail });
  return t('error.http', { status: error.status, detail: field ? `${field}: ${detail}` : detail });
}

// --- the builder ---------------------------------------------------------------------------

function optionKind(doc) {
  const label = doc.type.replace(/ \| null$/, '');
  const constraints = doc.constraints || {};
  if (constraints.enum) return { kind: 'enum', values: constraints.enum };
  if (label === 'boolean') return { kind: 'boolean' };
  if (label === 'integer') return { kind: 'integer' };
  if (label === 'number') return { kind: 'number' };
  if (label === 'date') return { kind: 'date' };
  if (label.startsWith('array of ')) return { kind: 'list', of: label.slice('array of '.length) };
  if (label === 'string') return { kind: 'text' };
  return { kind: 'json' };
}

function commonOptionDocs(type) {
  const docs = (page.catalog && page.catalog.common_options) || [];
  return docs.filter((doc) => doc.name !== 'name' && (doc.name !== 'unique' || !type || type.can_be_unique));
}

function optionDocs(type) {
  if (!type) return [];
  return [...type.options].sort((a, b) => Number(b.required) - Number(a.required));
}

function knownOption(type, name) {
  return [...optionDocs(type), ...commonOptionDocs(type)].find((doc) => doc.name === name);
}

// A spec value as its input holds it.
function inputValueOf(value, doc) {
  const { kind } = optionKind(doc);
  if (kind === 'boolean') return Boolean(value);
  if (value === null || value === undefined) return '';
  if (kind === 'list' && Array.isArray(value)) {
    const plain = value.every((item) => !String(item).includes(','));
    return plain ? value.map((item) => (item === null ? '' : String(item))).join(', ') : toJson(value);
  }
  if (typeof value === 'object') return toJson(value);
  return String(value);
}

// An input's value as the spec holds it; undefined leaves the option out (its default).
function specValueOf(value, doc) {
  const { kind, of } = optionKind(doc);
  if (kind === 'boolean') {
    const wanted = Boolean(value);
    return wanted === Boolean(doc.default) ? undefined : wanted;
  }
  const text = String(value ?? '').trim();
  if (text === '') return undefined;
  if (kind === 'integer') return integerOf(text);
  if (kind === 'number') return numberOf(text);
  if (kind === 'list') {
    if (text.startsWith('[')) {
      try {
        return parseJson(text);
      } catch {
        return text;
      }
    }
    const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    return of.startsWith('number') || of.startsWith('integer') ? items.map(numberOf) : items;
  }
  if (kind === 'json') {
    try {
      return parseJson(text);
    } catch {
      return text;
    }
  }
  return text;
}

function newField(name, type, values = {}, raw = {}) {
  const id = page.nextFieldId;
  page.nextFieldId += 1;
  return { id, name, type, values, raw };
}

function fieldFromSpec(spec) {
  const { name = '', type = '', ...options } = spec || {};
  const entry = page.types.get(type);
  const values = {};
  const raw = {};
  for (const [option, value] of Object.entries(options)) {
    const doc = knownOption(entry, option);
    if (doc) values[option] = inputValueOf(value, doc);
    else raw[option] = value; // not in the catalog for this type: sent as it came
  }
  return newField(String(name), String(type), values, raw);
}

function fieldSpec(field) {
  const entry = page.types.get(field.type);
  const spec = { name: field.name, type: field.type };
  for (const doc of [...optionDocs(entry), ...commonOptionDocs(entry)]) {
    if (!(doc.name in field.values)) continue;
    const value = specValueOf(field.values[doc.name], doc);
    if (value !== undefined) spec[doc.name] = value;
  }
  return { ...spec, ...field.raw };
}

function buildSpec() {
  const spec = {
    name: $('spec-name').value.trim(),
    rows: integerOf($('spec-rows').value),
    format: $('spec-format').value,
    locale: $('spec-locale').value,
  };
  const seed = integerOf($('spec-seed').value);
  if (seed !== undefined) spec.seed = seed;
  if (spec.rows === undefined) delete spec.rows;
  if ($('spec-gzip').checked) spec.compression = 'gzip';
  spec.fields = page.fields.map(fieldSpec);
  return { ...spec, ...page.extras };
}

function specBody() {
  return toJson(buildSpec());
}

function ensureOption(select, value, label) {
  if (value && ![...select.options].some((option) => option.value === value)) {
    select.append(el('option', { value, text: label || value }));
  }
}

function loadSpec(spec) {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new Error('not an object');
  $('spec-name').value = spec.name ?? '';
  $('spec-rows').value = spec.rows ?? '';
  ensureOption($('spec-format'), spec.format);
  $('spec-format').value = spec.format ?? 'csv';
  ensureOption($('spec-locale'), spec.locale);
  $('spec-locale').value = spec.locale ?? 'en_US';
  page.localeChosen = typeof spec.locale === 'string' && spec.locale !== '';
  $('spec-seed').value = spec.seed ?? '';
  $('spec-gzip').checked = spec.compression === 'gzip';
  page.fields = Array.isArray(spec.fields) ? spec.fields.map(fieldFromSpec) : [];
  page.extras = {};
  for (const [key, value] of Object.entries(spec)) {
    if (!SPEC_KEYS.includes(key)) page.extras[key] = value;
  }
  page.specError = null;
  renderFields();
  renderExtras();
  renderAiLocale();
}

function starterSpec() {
  return {
    name: 'users',
    rows: 1000,
    format: 'csv',
    locale: page.lang === 'ja' ? 'ja_JP' : 'en_US',
    fields: [
      { name: 'id', type: 'sequence' },
      { name: 'name', type: 'full_name' },
      { name: 'email', type: 'email' },
    ],
  };
}

function saveDraft() {
  sessionStorage.setItem(DRAFT_STORAGE, specBody());
  sessionStorage.setItem(LOCALE_CHOSEN_STORAGE, String(page.localeChosen));
}

// A draft always holds a locale, so whether it was chosen is kept beside it.
function loadDraft() {
  const saved = sessionStorage.getItem(DRAFT_STORAGE);
  if (saved) {
    try {
      loadSpec(parseJson(saved));
      setLocaleChosen(sessionStorage.getItem(LOCALE_CHOSEN_STORAGE) === 'true');
      return;
    } catch {
      sessionStorage.removeItem(DRAFT_STORAGE);
    }
  }
  loadSpec(starterSpec());
  setLocaleChosen(false); // the starter's locale only follows the page's language
}

function setLocaleChosen(chosen) {
  page.localeChosen = chosen;
  renderAiLocale();
}

// Called after every edit of the builder.
function specChanged() {
  saveDraft();
  renderJson();
  schedulePreview();
}

function fillChoices() {
  const format = $('spec-format');
  const chosenFormat = format.value;
  format.replaceChildren(
    ...page.choices.formats.map((name) => el('option', { value: name, text: FORMAT_NAMES[name] || name })),
  );
  if (chosenFormat) format.value = chosenFormat;
  fillLocaleSelect($('spec-locale'));
}

function localeLabel(code) {
  try {
    const names = new Intl.DisplayNames([uiLocale()], { type: 'language' });
    const name = names.of(code.replace('_', '-'));
    return name && name !== code.replace('_', '-') ? `${code} — ${name}` : code;
  } catch {
    return code;
  }
}

function fillLocaleSelect(select, blankLabel) {
  const chosen = select.value;
  const primary = page.choices.primary_locales;
  const others = page.choices.locales.filter((code) => !primary.includes(code));
  const option = (code) => el('option', { value: code, text: localeLabel(code) });
  select.replaceChildren(
    ...(blankLabel ? [el('option', { value: '', text: blankLabel })] : []),
    el('optgroup', { label: t('locale.common') }, primary.map(option)),
    el('optgroup', { label: t('locale.others') }, others.map(option)),
  );
  ensureOption(select, chosen);
  select.value = chosen || (blankLabel ? '' : primary[0]);
}

function typeSelect(field) {
  const select = el('select', { class: 'type-select', id: `field-${field.id}-type` });
  if (!page.types.has(field.type)) {
    select.append(el('option', { value: field.type, text: field.type || t('field.choose') }));
  }
  const groups = new Map();
  for (const entry of page.types.values()) {
    if (!groups.has(entry.category)) groups.set(entry.category, []);
    groups.get(entry.category).push(entry);
  }
  const order = (category) => {
    const at = CATEGORY_ORDER.indexOf(category);
    return at < 0 ? CATEGORY_ORDER.length : at;
  };
  for (const category of [...groups.keys()].sort((a, b) => order(a) - order(b))) {
    const names = CATEGORY_NAMES[category];
    const label = names ? names[page.lang] || names.en : category;
    select.append(
      el('optgroup', { label }, groups.get(category).map((entry) => el('option', { value: entry.name, text: entry.name }))),
    );
  }
  select.value = field.type;
  select.addEventListener('change', () => {
    const entry = page.types.get(select.value);
    field.type = select.value;
    // Options the new type also has keep their values.
    for (const name of Object.keys(field.values)) {
      if (!knownOption(entry, name)) delete field.values[name];
    }
    field.raw = {};
    renderFields();
    specChanged();
  });
  return select;
}

function hintOf(doc) {
  const { kind } = optionKind(doc);
  const parts = kind === 'enum' ? [] : [doc.type];
  if (doc.required) parts.push(t('field.required'));
  const constraints = doc.constraints || {};
  const low = constraints.minimum ?? constraints.exclusiveMinimum;
  const high = constraints.maximum ?? constraints.exclusiveMaximum;
  const safe = (value) => value === undefined || Math.abs(value) <= Number.MAX_SAFE_INTEGER;
  if ((low !== undefined || high !== undefined) && safe(low) && safe(high)) {
    parts.push(t('field.range', { min: low ?? '', max: high ?? '' }).trim());
  }
  if (kind === 'list') parts.push(t('field.list'));
  if (doc.default !== null && doc.default !== undefined && kind !== 'enum') {
    // Spaces and objects are shown as JSON, so a default of " " is seen.
    const plain = typeof doc.default !== 'object' && String(doc.default).trim() === String(doc.default) && doc.default !== '';
    parts.push(t('field.default', { value: plain ? doc.default : toJson(doc.default) }));
  }
  if (doc.description) parts.push(doc.description);
  return parts.join(' · ');
}

function optionInput(field, doc, label) {
  const id = `field-${field.id}-${doc.name}`;
  const { kind, values } = optionKind(doc);
  const current = field.values[doc.name];
  const update = (value) => {
    field.values[doc.name] = value;
    specChanged();
  };
  const hint = el('span', { class: 'hint', id: `${id}-hint`, text: hintOf(doc) });
  let input;
  if (kind === 'boolean') {
    input = el('input', { type: 'checkbox', id, checked: current ?? Boolean(doc.default) });
    input.addEventListener('change', () => update(input.checked));
    return el(
      'div',
      { class: 'option check', dataset: { option: doc.name } },
      input,
      el('label', { for: id, text: label }),
      hint,
    );
  }
  if (kind === 'enum' || doc.name === 'locale') {
    input = el('select', { id });
    if (doc.name === 'locale') {
      fillLocaleSelect(input, t('locale.same'));
    } else {
      const blank = doc.required ? t('field.choose') : t('field.use_default', { value: doc.default ?? '—' });
      input.append(el('option', { value: '', text: blank }), ...values.map((value) => el('option', { value, text: value })));
    }
    ensureOption(input, current);
    input.value = current ?? '';
    input.addEventListener('change', () => update(input.value));
  } else {
    const types = { integer: 'number', number: 'number', date: 'date' };
    input = el('input', {
      id,
      type: types[kind] || 'text',
      step: kind === 'integer' ? '1' : kind === 'number' ? 'any' : undefined,
      placeholder: doc.default !== null && doc.default !== undefined && kind !== 'date' ? String(doc.default) : undefined,
      spellcheck: 'false',
    });
    input.value = current ?? '';
    input.addEventListener('input', () => update(input.value));
  }
  input.setAttribute('aria-describedby', hint.id);
  if (doc.required) input.required = true;
  return el(
    'div',
    { class: 'option', dataset: { option: doc.name } },
    el('label', { for: id, text: label }),
    input,
    hint,
  );
}

function fieldCard(field, index) {
  const entry = page.types.get(field.type);
  const nameId = `field-${field.id}-name`;
  const nameInput = el('input', { id: nameId, type: 'text', class: 'field-name', maxlength: 64, spellcheck: 'false' });
  nameInput.value = field.name;
  nameInput.addEventListener('input', () => {
    field.name = nameInput.value;
    specChanged();
  });
  const move = (step) => () => {
    const to = index + step;
    if (to < 0 || to >= page.fields.length) return;
    [page.fields[index], page.fields[to]] = [page.fields[to], page.fields[index]];
    renderFields();
    specChanged();
  };
  const remove = () => {
    page.fields.splice(index, 1);
    renderFields();
    specChanged();
  };
  const example = entry && entry.examples ? entry.examples[$('spec-locale').value] ?? entry.examples.en_US : undefined;
  // Options with a default or that are required come first; the rest (the parameters of
  // one distribution, an entity link…) wait behind "more" unless one is set.
  const docs = optionDocs(entry);
  const main = docs.filter((doc) => doc.required || (doc.default !== null && doc.default !== undefined));
  const more = docs.filter((doc) => !main.includes(doc));
  const own = main.map((doc) => optionInput(field, doc, doc.name));
  const moreSet = more.some((doc) => doc.name in field.values && field.values[doc.name] !== '');
  const common = commonOptionDocs(entry).map((doc) => optionInput(field, doc, t(COMMON_LABELS[doc.name] || doc.name)));
  const commonSet = commonOptionDocs(entry).some((doc) => doc.name in field.values);
  return el(
    'li',
    { class: 'field', dataset: { index: String(index) } },
    el(
      'div',
      { class: 'field-head' },
      el('span', { class: 'field-number', text: String(index + 1), 'aria-hidden': 'true' }),
      el('div', { class: 'option' }, el('label', { for: nameId, text: t('field.name') }), nameInput),
      el('div', { class: 'option' }, el('label', { for: `field-${field.id}-type`, text: t('field.type') }), typeSelect(field)),
      el(
        'div',
        { class: 'field-actions' },
        el('button', { type: 'button', class: 'icon', title: t('field.up'), 'aria-label': t('field.up'), disabled: index === 0, onclick: move(-1), text: '↑' }),
        el('button', { type: 'button', class: 'icon', title: t('field.down'), 'aria-label': t('field.down'), disabled: index === page.fields.length - 1, onclick: move(1), text: '↓' }),
        el('button', { type: 'button', class: 'icon danger', title: t('field.remove'), 'aria-label': t('field.remove'), onclick: remove, text: '×' }),
      ),
    ),
    entry
      ? el(
          'p',
          { class: 'field-desc' },
          entry.description,
          example !== undefined && example !== null
            ? el('span', { class: 'example', text: ` ${t('field.example', { value: typeof example === 'object' ? toJson(example) : example })}` })
            : null,
        )
      : null,
    own.length ? el('div', { class: 'options' }, own) : null,
    more.length
      ? el(
          'details',
          { class: 'more', open: moreSet },
          el('summary', { text: t('field.more', { names: more.map((doc) => doc.name).join(', ') }) }),
          el('div', { class: 'options' }, more.map((doc) => optionInput(field, doc, doc.name))),
        )
      : null,
    docs.length ? null : el('p', { class: 'note', text: t('field.no_options') }),
    el('details', { class: 'common', open: commonSet }, el('summary', { text: t('field.common') }), el('div', { class: 'options' }, common)),
    el('p', { class: 'field-error', hidden: true }),
  );
}

function renderFields() {
  const list = $('fields');
  if (!page.catalog) {
    list.replaceChildren();
    return;
  }
  list.replaceChildren(...page.fields.map(fieldCard));
  markSpecError();
}

function renderExtras() {
  const box = $('extras');
  const keys = Object.keys(page.extras);
  box.hidden = keys.length === 0;
  if (!keys.length) return;
  const drop = el('button', { type: 'button', class: 'link', text: t('extras.drop') });
  drop.addEventListener('click', () => {
    page.extras = {};
    renderExtras();
    specChanged();
  });
  box.replaceChildren(el('span', { text: t('extras.note', { keys: keys.join(', ') }) }), ' ', drop);
}

function renderJson() {
  $('spec-json').textContent = toJson(buildSpec(), 2);
}

// The spec error beside the builder, and the field or input it names marked.
function markSpecError() {
  for (const node of document.querySelectorAll('[aria-invalid="true"]')) node.removeAttribute('aria-invalid');
  for (const node of document.querySelectorAll('.field.invalid')) node.classList.remove('invalid');
  for (const node of document.querySelectorAll('.field-error')) node.hidden = true;
  const box = $('spec-error');
  const error = page.specError;
  box.hidden = !error;
  if (!error) return;
  box.textContent = describeError(error);
  const path = (error.body && error.body.field) || '';
  const match = /^fields\[(\d+)\](?:\.([^.[\]]+))?/.exec(path);
  if (match) {
    const card = $('fields').children[Number(match[1])];
    if (!card) return;
    card.classList.add('invalid');
    const note = card.querySelector('.field-error');
    note.textContent = error.body.detail;
    note.hidden = false;
    const input = match[2] === 'name'
      ? card.querySelector('.field-name')
      : match[2] === 'type'
        ? card.querySelector('.type-select')
        : card.querySelector(`[data-option="${CSS.escape(match[2] || '')}"] :is(input, select)`);
    if (input) input.setAttribute('aria-invalid', 'true');
    return;
  }
  const top = document.querySelector(`[data-field="${CSS.escape(path)}"]`);
  if (top) top.setAttribute('aria-invalid', 'true');
}

// --- preview -------------------------------------------------------------------------------

function schedulePreview() {
  clearTimeout(page.previewTimer);
  if (!$('preview-auto').checked || !apiKey() || !page.catalog) return;
  page.previewTimer = setTimeout(runPreview, PREVIEW_DELAY_MS);
}

async function runPreview() {
  clearTimeout(page.previewTimer);
  if (page.previewAbort) page.previewAbort.abort();
  const abort = new AbortController();
  page.previewAbort = abort;
  page.previewSeq += 1;
  const seq = page.previewSeq;
  const seedGiven = $('spec-seed').value.trim() !== '';
  page.previewBusy = true;
  renderPreview();
  try {
    const { data } = await api('POST', '/v1/preview', { body: specBody(), signal: abort.signal });
    if (seq !== page.previewSeq) return;
    page.preview = { data, seedGiven };
    page.previewStale = false;
    page.specError = null;
  } catch (error) {
    if (error.name === 'AbortError' || seq !== page.previewSeq) return;
    page.previewStale = Boolean(page.preview);
    page.specError = error;
  } finally {
    if (seq === page.previewSeq) {
      page.previewBusy = false;
      renderPreview();
      markSpecError();
    }
  }
}

function cellOf(value) {
  if (value === null) return el('td', { class: 'null', text: 'null' });
  const text = typeof value === 'object' ? toJson(value) : String(value);
  const numeric = typeof value === 'number';
  return el('td', { class: numeric ? 'num' : undefined, title: text.length > 40 ? text : undefined, text });
}

function renderPreview() {
  const table = $('preview-table');
  const wrap = $('preview-wrap');
  wrap.setAttribute('aria-busy', String(page.previewBusy));
  wrap.classList.toggle('stale', page.previewStale);
  if (page.previewBusy) setStatus('preview-status', t('preview.loading'), 'busy');
  if (!page.preview) {
    table.replaceChildren();
    if (!page.previewBusy) setStatus('preview-status', page.specError ? '' : t('preview.empty'));
    return;
  }
  const { data, seedGiven } = page.preview;
  table.replaceChildren(
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        data.columns.map((column) =>
          el('th', { scope: 'col' }, el('span', { class: 'col-name', text: column.name }), el('span', { class: 'col-type', text: column.type })),
        ),
      ),
    ),
    el('tbody', {}, data.rows.map((row) => el('tr', {}, row.map(cellOf)))),
  );
  if (page.previewBusy) return;
  const parts = [el('span', { text: t('preview.caption', { count: data.rows.length, locale: data.locale, seed: data.seed }) })];
  if (!seedGiven) {
    const use = el('button', { type: 'button', class: 'link', text: t('preview.use_seed') });
    use.addEventListener('click', () => {
      $('spec-seed').value = String(data.seed);
      page.preview.seedGiven = true;
      renderPreview();
      specChanged();
    });
    parts.push(' ', el('span', { text: t('preview.random_seed', { seed: data.seed }) }), ' ', use);
  }
  if (data.other_tables && data.other_tables.length) {
    parts.push(' ', el('span', { text: t('preview.other_tables', { tables: data.other_tables.join(', ') }) }));
  }
  if (page.previewStale) parts.unshift(el('strong', { text: t('preview.stale') }), ' ');
  const status = $('preview-status');
  status.className = 'status';
  status.replaceChildren(...parts);
}

// --- submitting and following a job --------------------------------------------------------

async function submitJob() {
  const body = specBody();
  if (!page.pendingSubmit || page.pendingSubmit.body !== body) {
    page.pendingSubmit = { body, key: newUuid() };
  }
  const button = $('submit');
  button.disabled = true;
  setStatus('submit-status', t('generate.sending'), 'busy');
  try {
    const { data, headers } = await api('POST', '/v1/jobs', {
      body,
      headers: { 'Idempotency-Key': page.pendingSubmit.key },
    });
    page.pendingSubmit = null;
    setStatus('submit-status', '');
    followJob(data, retryAfterOf(headers));
    loadHistory(true);
  } catch (error) {
    // A lost answer may be retried with the same key; any answer ends this attempt.
    if (error instanceof ApiFailure && error.status !== 0 && error.status !== 409) page.pendingSubmit = null;
    setStatus('submit-status', describeError(error), 'error');
    if (error instanceof ApiFailure && error.status === 422) {
      page.specError = error;
      markSpecError();
    }
  } finally {
    button.disabled = false;
  }
}

function followJob(job, retryAfter) {
  page.job = job;
  renderJob();
  if (isFinal(job.state)) stopPolling();
  else pollJobIn(retryAfter);
}

// Starts the job's polling loop afresh, `seconds` from now. There is only ever one: this
// ends the one before, even one whose request is still out (see pollJob).
function pollJobIn(seconds) {
  stopPolling();
  const run = page.pollRun;
  page.jobTimer = setTimeout(() => pollJob(run), seconds * 1000);
}

function pollJobNow() {
  stopPolling();
  pollJob(page.pollRun);
}

function stopPolling() {
  clearTimeout(page.jobTimer);
  page.pollRun += 1;
}

function isFinal(state) {
  return !['queued', 'running'].includes(state);
}

async function pollJob(run) {
  const job = page.job;
  if (!job || run !== page.pollRun) return;
  let wait = DEFAULT_RETRY_SECONDS;
  try {
    const { data, headers } = await api('GET', `/v1/jobs/${encodeURIComponent(job.id)}`);
    if (run !== page.pollRun) return; // a newer loop (or a cancel) took over meanwhile
    page.job = data;
    wait = retryAfterOf(headers);
    renderJob();
    if (isFinal(data.state)) {
      loadHistory(true);
      return;
    }
  } catch (error) {
    if (run !== page.pollRun) return;
    if (error instanceof ApiFailure && error.retryAfter) wait = error.retryAfter;
    setStatus('submit-status', describeError(error), 'error');
  }
  page.jobTimer = setTimeout(() => pollJob(run), wait * 1000);
}

async function cancelJob() {
  const job = page.job;
  if (!job) return;
  try {
    const { data } = await api('POST', `/v1/jobs/${encodeURIComponent(job.id)}/cancel`);
    if (!page.job || page.job.id !== job.id) return;
    stopPolling();
    page.job = data;
    renderJob();
  } catch (error) {
    if (!(error instanceof ApiFailure && error.status === 409)) {
      setStatus('submit-status', describeError(error), 'error');
    }
    if (page.job && page.job.id === job.id) pollJobNow(); // the loop goes on from this look
    return;
  }
  loadHistory(true);
}

function stateBadge(state) {
  return el('span', { class: `badge state-${state}`, text: t(`state.${state}`) });
}

function downloadLink(file, text) {
  return el('a', { class: 'button download', href: file.download_url, download: file.name, text });
}

function renderJob() {
  const box = $('job');
  const job = page.job;
  box.hidden = !job;
  if (!job) return;
  const { rows_done: done, rows_total: total, percent } = job.progress;
  const progress = el('progress', { max: String(total || 1), value: String(done), 'aria-label': job.name });
  const parts = [
    el('div', { class: 'job-head' }, el('strong', { class: 'job-name', text: job.name }), stateBadge(job.state), el('span', { class: 'note', text: t('job.seed', { seed: job.seed }) })),
    progress,
    el('p', { class: 'job-rows' }, t('job.rows', { done: formatNumber(done), total: formatNumber(total) }), ` · ${Number(percent).toFixed(1)}%`),
  ];
  if (!isFinal(job.state)) {
    parts.push(el('button', { type: 'button', class: 'secondary danger', id: 'job-cancel', onclick: cancelJob, text: t('job.cancel') }));
  }
  if (job.state === 'succeeded' && job.file && job.file.download_url) {
    parts.push(
      downloadLink(job.file, t('job.download', { file: job.file.name, size: formatBytes(job.file.size_bytes) })),
      el('p', { class: 'note', text: t('job.expires', { time: formatTime(job.file.expires_at) }) }),
    );
  }
  if (job.state === 'failed') parts.push(el('p', { class: 'error', role: 'alert', text: t('job.failed', { error: job.error || '' }) }));
  if (job.state === 'cancelled') parts.push(el('p', { class: 'note', text: t('job.cancelled') }));
  if (job.state === 'expired') parts.push(el('p', { class: 'note', text: t('job.expired') }));
  box.dataset.state = job.state;
  box.replaceChildren(...parts);
}

// --- history -------------------------------------------------------------------------------

async function loadHistory(fromStart) {
  if (!apiKey()) {
    page.history = [];
    page.historyCursor = null;
    renderHistory();
    return;
  }
  const params = new URLSearchParams({ limit: String(HISTORY_PAGE) });
  if (!fromStart && page.historyCursor) params.set('cursor', page.historyCursor);
  try {
    const { data } = await api('GET', `/v1/jobs?${params}`);
    page.history = fromStart ? data.jobs : [...page.history, ...data.jobs];
    page.historyCursor = data.next_cursor;
    setStatus('history-status', '');
  } catch (error) {
    setStatus('history-status', describeError(error), 'error');
  }
  renderHistory();
}

function renderHistory() {
  const table = $('history-table');
  $('history-more').hidden = !page.historyCursor;
  if (!apiKey()) {
    table.replaceChildren();
    setStatus('history-status', t('history.need_key'));
    return;
  }
  if (!page.history.length) {
    table.replaceChildren();
    if (!$('history-status').classList.contains('error')) setStatus('history-status', t('history.empty'));
    return;
  }
  const head = ['col.name', 'col.state', 'col.rows', 'col.format', 'col.created', 'col.file'];
  table.replaceChildren(
    el('thead', {}, el('tr', {}, head.map((key) => el('th', { scope: 'col', text: t(key) })))),
    el(
      'tbody',
      {},
      page.history.map((job) =>
        el(
          'tr',
          { dataset: { jobId: job.id } },
          el('td', { text: job.name }),
          el('td', {}, stateBadge(job.state)),
          el('td', { class: 'num', text: formatNumber(job.progress.rows_total) }),
          el('td', { text: job.format }),
          el('td', { text: formatTime(job.created_at) }),
          el('td', {}, job.file && job.file.download_url ? downloadLink(job.file, t('history.download')) : '—'),
        ),
      ),
    ),
  );
}

// --- the API key and the account -----------------------------------------------------------

async function checkKey() {
  page.account = null;
  if (!apiKey()) {
    setStatus('key-status', t('key.missing'));
    return;
  }
  setStatus('key-status', t('key.checking'), 'busy');
  try {
    const { data } = await api('GET', '/v1/account');
    page.account = data;
    renderKeyStatus();
  } catch (error) {
    setStatus('key-status', error instanceof ApiFailure && error.status === 401 ? t('key.bad') : describeError(error), 'error');
  }
}

function renderKeyStatus() {
  if (page.account) {
    setStatus('key-status', t('key.ok', { name: page.account.name, plan: page.account.plan.name }), 'ok');
  } else if (!apiKey()) {
    setStatus('key-status', t('key.missing'));
  }
}

function storeKey() {
  const key = $('api-key').value.trim();
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

function keyChanged() {
  storeKey();
  checkKey();
  loadHistory(true);
  schedulePreview();
}

// --- the AI assistant ----------------------------------------------------------------------

async function suggestSpec() {
  const prompt = $('ai-prompt').value.trim();
  if (!prompt) {
    setStatus('ai-status', t('ai.empty'), 'error');
    return;
  }
  const button = $('ai-run');
  button.disabled = true;
  setStatus('ai-status', t('ai.working'), 'busy');
  try {
    // A locale the user did not pick is left to Claude, which reads it from the request.
    const asked = page.localeChosen ? { prompt, locale: $('spec-locale').value } : { prompt };
    const { data } = await api('POST', '/v1/specs/suggest', { body: toJson(asked) });
    loadSpec(data.spec);
    specChanged();
    const usage = data.usage || {};
    setStatus('ai-status', t('ai.done', { input: formatNumber(usage.input_tokens ?? 0), output: formatNumber(usage.output_tokens ?? 0) }), 'ok');
    runPreview();
  } catch (error) {
    let message = describeError(error);
    if (error instanceof ApiFailure && error.status === 503) {
      message = t('ai.unavailable', { detail: error.body.detail });
    } else if (error instanceof ApiFailure && error.status === 422) {
      message = t('ai.invalid', { detail: error.body.detail });
    }
    setStatus('ai-status', message, 'error');
  } finally {
    button.disabled = false;
  }
}

// Says under the AI box whether the builder's locale goes with the request.
function renderAiLocale() {
  const note = $('ai-locale');
  note.textContent = page.localeChosen ? t('ai.locale_fixed', { locale: localeLabel($('spec-locale').value) }) : t('ai.locale_free');
  note.dataset.locale = page.localeChosen ? $('spec-locale').value : '';
}

// --- language ------------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = page.lang;
  document.title = t('page.title');
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of document.querySelectorAll('[data-i18n-aria-label]')) node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
  for (const button of document.querySelectorAll('.lang')) button.setAttribute('aria-pressed', String(button.dataset.lang === page.lang));
}

function setLanguage(lang) {
  page.lang = lang;
  localStorage.setItem(LANG_STORAGE, lang);
  applyLanguage();
  fillChoices();
  renderFields();
  renderExtras();
  renderPreview();
  renderJob();
  renderHistory();
  renderKeyStatus();
  renderAiLocale();
  markSpecError();
  for (const id of ['ai-status', 'submit-status', 'json-status']) setStatus(id, '');
}

function initialLanguage() {
  const saved = localStorage.getItem(LANG_STORAGE);
  if (saved === 'ja' || saved === 'en') return saved;
  return (navigator.languages || [navigator.language]).some((tag) => /^ja\b/i.test(tag || '')) ? 'ja' : 'en';
}

// --- the spec JSON -------------------------------------------------------------------------

async function copyJson() {
  const text = $('spec-json').textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const range = document.createRange();
    range.selectNodeContents($('spec-json'));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand('copy');
  }
  setStatus('json-status', t('json.copied'), 'ok');
}

function importJson() {
  try {
    loadSpec(parseJson($('json-import').value));
    specChanged();
    setStatus('json-status', t('json.loaded'), 'ok');
  } catch (error) {
    setStatus('json-status', t('json.bad', { detail: error.message }), 'error');
  }
}

// --- start ---------------------------------------------------------------------------------

function readChoices() {
  const meta = document.querySelector('meta[name="tdbuddy:choices"]');
  try {
    Object.assign(page.choices, JSON.parse(meta.content));
  } catch {
    // The page was opened as a file: the defaults above still let it draw itself.
  }
}

async function loadCatalog() {
  const { data } = await api('GET', '/v1/field-types', { auth: false });
  page.catalog = data;
  page.types = new Map(data.types.map((entry) => [entry.name, entry]));
}

function wireEvents() {
  for (const button of document.querySelectorAll('.lang')) {
    button.addEventListener('click', () => setLanguage(button.dataset.lang));
  }
  const key = $('api-key');
  let keyTimer = 0;
  key.addEventListener('input', () => {
    storeKey();
    clearTimeout(keyTimer);
    keyTimer = setTimeout(keyChanged, 300);
  });
  $('key-forget').addEventListener('click', () => {
    key.value = '';
    keyChanged();
  });
  for (const id of ['spec-name', 'spec-rows', 'spec-seed']) $(id).addEventListener('input', specChanged);
  for (const id of ['spec-format', 'spec-gzip']) $(id).addEventListener('change', specChanged);
  $('spec-locale').addEventListener('change', () => {
    setLocaleChosen(true);
    renderFields(); // the examples follow the locale
    specChanged();
  });
  $('field-add').addEventListener('click', () => {
    page.fields.push(newField(`field_${page.fields.length + 1}`, 'word'));
    renderFields();
    specChanged();
    const names = document.querySelectorAll('.field-name');
    if (names.length) names[names.length - 1].focus();
  });
  $('preview-run').addEventListener('click', runPreview);
  $('preview-auto').addEventListener('change', schedulePreview);
  $('submit').addEventListener('click', submitJob);
  $('ai-run').addEventListener('click', suggestSpec);
  $('history-refresh').addEventListener('click', () => loadHistory(true));
  $('history-more').addEventListener('click', () => loadHistory(false));
  $('json-copy').addEventListener('click', copyJson);
  $('json-load').addEventListener('click', importJson);
}

async function start() {
  readChoices();
  page.lang = initialLanguage();
  applyLanguage();
  fillChoices();
  wireEvents();
  renderAiLocale();
  $('api-key').value = apiKey();
  renderPreview();
  renderHistory();
  checkKey();
  loadHistory(true);
  try {
    await loadCatalog();
  } catch (error) {
    setStatus('preview-status', describeError(error), 'error');
    return;
  }
  loadDraft();
  renderJson();
  document.body.dataset.ready = 'true';
  schedulePreview();
}

start();
