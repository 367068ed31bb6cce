async function main() {
  const spec = await (await fetch('openapi.json')).json();
  const byTag = {};
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ['other'])[0];
      (byTag[tag] = byTag[tag] || []).push({ path, method, op });
    }
  }
  const root = document.getElementById('ops');
  root.textContent = '';
  for (const [tag, ops] of Object.entries(byTag)) {
    const h = document.createElement('h2'); h.textContent = tag; root.appendChild(h);
    for (const { path, method, op } of ops) root.appendChild(operation(path, method, op));
  }
}
function operation(path, method, op) {
  const d = document.createElement('details');
  const s = document.createElement('summary');
  s.innerHTML = `<span class="m ${method}">${method.toUpperCase()}</span> <code></code>`;
  s.querySelector('code').textContent = path;
  d.appendChild(s);
  const inputs = {};
  // Each field's label names it (for screen readers and clicks).
  const id = (name) => `${method}-${path}-${name}`.replace(/[^A-Za-z0-9_-]/g, '_');
  for (const p of op.parameters || []) {
    const l = document.createElement('label'); l.textContent = `${p.name} (${p.in})${p.required ? ' *' : ''} ${p.description || ''}`;
    const i = document.createElement('input'); inputs[p.name] = { el: i, where: p.in };
    i.id = id(p.name); l.htmlFor = i.id;
    d.append(l, i);
  }
  let body = null;
  if (op.requestBody) {
    const l = document.createElement('label'); l.textContent = 'body (JSON)';
    body = document.createElement('textarea'); body.rows = 4;
    body.id = id('body'); l.htmlFor = body.id;
    d.append(l, body);
  }
  const b = document.createElement('button'); b.textContent = 'Send';
  const out = document.createElement('pre');
  b.onclick = async () => {
    let url = path; const q = new URLSearchParams();
    for (const [name, { el, where }] of Object.entries(inputs)) {
      if (!el.value) continue;
      if (where === 'path') url = url.replace(`{${name}}`, encodeURIComponent(el.value)); else q.set(name, el.value);
    }
    const qs = q.toString();
    const init = { method: method.toUpperCase() };
    if (body) { init.body = body.value; init.headers = { 'content-type': 'application/json' }; }
    try {
      const r = await fetch(url.replace(/^\//, '') + (qs ? `?${qs}` : ''), init);
      const t = await r.text();
      let shown = t; try { shown = JSON.stringify(JSON.parse(t), null, 2); } catch (_) {}
      out.textContent = `${r.status} ${r.statusText}\n\n${shown}`;
    } catch (e) { out.textContent = String(e); }
  };
  d.append(b, out);
  return d;
}
main().catch(e => { document.getElementById('ops').textContent = 'Cannot load openapi.json: ' + e; });
