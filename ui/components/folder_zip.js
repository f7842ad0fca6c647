// FaceROC folder uploader: packs the chosen folder into one .zip in the browser (fflate, stored without
// compression: photos do not shrink) and sends it as a single value, so a folder of thousands of photos
// travels as one file instead of thousands of uploads.  fflate (MIT) is prepended to this file by
// ui/folder_upload.py and sets `self.fflate`.
const IMAGE = /\.(jpe?g|png|bmp|pgm|ppm|pbm|tiff?|webp|gif)$/i;

function base64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

function fmt(text, values) {
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : ""));
}

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const root = parentElement.querySelector(".fz");
  const input = root.querySelector("input[type=file]");
  const status = root.querySelector(".fz-status");
  const bar = root.querySelector("progress");
  root.dataset.text = JSON.stringify(data);  // the latest texts and limits (language changes re-render)
  root.querySelector(".fz-pick-text").textContent = data.text.pick;
  root.querySelector(".fz-hint").textContent = data.text.hint;
  if (input.dataset.ready) return;
  input.dataset.ready = "1";

  const say = (text, frac) => {
    status.textContent = text;
    if (frac === null) { bar.hidden = true; } else { bar.hidden = false; bar.value = frac; }
  };

  input.addEventListener("change", async () => {
    const d = JSON.parse(root.dataset.text);
    const t = d.text;
    const all = Array.from(input.files || []);
    const files = all.filter((f) => {
      const path = f.webkitRelativePath || f.name;
      return IMAGE.test(path) && !path.split("/").some((part) => part.startsWith("."));
    });
    input.value = "";
    if (!files.length) { say(t.none, null); return; }
    const total = files.reduce((s, f) => s + f.size, 0);
    if (files.length > d.max_files || total > d.max_bytes) {
      say(fmt(t.too_big, { n: files.length, mb: Math.round(total / 1e6) }), null);
      return;
    }
    const folder = (files[0].webkitRelativePath || files[0].name).split("/")[0] || "folder";
    const entries = {};
    let done = 0;
    try {
      for (let i = 0; i < files.length; i += 64) {
        const part = files.slice(i, i + 64);
        const bufs = await Promise.all(part.map((f) => f.arrayBuffer()));
        part.forEach((f, k) => {
          entries[f.webkitRelativePath || f.name] = [new Uint8Array(bufs[k]), { level: 0 }];
        });
        done += part.length;
        say(fmt(t.reading, { done, n: files.length }), 0.8 * done / files.length);
      }
      say(fmt(t.packing, { n: files.length }), 0.85);
      const zipped = self.fflate.zipSync(entries, { level: 0 });
      say(fmt(t.sending, { n: files.length, mb: (zipped.length / 1e6).toFixed(1) }), 0.95);
      const other = all.filter((f) => !files.includes(f)).map((f) => f.webkitRelativePath || f.name);
      setTriggerValue("zip", { name: folder, b64: base64(zipped), n_files: files.length,
                               other: other.slice(0, 200), n_other: other.length });
      say(fmt(t.sent, { n: files.length }), null);
    } catch (e) {
      say(fmt(t.failed, { err: String(e && e.message || e) }), null);
    }
  });
}
