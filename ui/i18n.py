"""UI strings in English and Japanese; ``t(key, **kw)`` reads the sidebar's language."""
from __future__ import annotations

import streamlit as st

LANGS = {"en": "English", "ja": "日本語"}

S: dict[str, dict[str, str]] = {
    "app.title": {"en": "FaceROC", "ja": "FaceROC"},
    "app.tagline": {"en": "Which face model is best on your faces — and how sure are we?",
                    "ja": "あなたの顔データで一番良い顔認識モデルはどれか、そしてどのくらい確かか。"},
    "nav.models": {"en": "Models", "ja": "モデル"},
    "nav.faces": {"en": "Faces", "ja": "顔画像"},
    "nav.compare": {"en": "Compare", "ja": "比較"},
    "nav.report": {"en": "Report", "ja": "レポート"},
    "nav.about": {"en": "About", "ja": "このアプリについて"},
    "nav.history": {"en": "History", "ja": "履歴"},
    "history.title": {"en": "History", "ja": "履歴"},
    "history.how_all": {"en": "Every run on this machine (the command line's and the dashboard's), newest first. "
                              "Send a run's link (?run=…) to show it to someone else.",
                        "ja": "このマシンでのすべての実行（コマンドラインとダッシュボード）、新しい順。実行のリンク（?run=…）を送れば他の人にも見せられます。"},
    "history.how_mine": {"en": "The runs of this session and those opened by link, newest first (runs are private "
                               "unless their link is given).",
                         "ja": "このセッションの実行とリンクで開いた実行（リンクを渡さない限り他の人には見えません）、新しい順。"},
    "history.none": {"en": "No stored runs yet: run a comparison, or faceroc evaluate on the command line.",
                     "ja": "保存された実行はまだありません。比較を実行するか、コマンドラインで faceroc evaluate を実行してください。"},
    "history.runs": {"en": "Runs", "ja": "実行"},
    "history.opened_how": {"en": "A stored run, read-only: {name}, {when} ({n} model(s)). Compare and Report show it with "
                                 "its charts, verdicts and downloads; the faces themselves are not stored.",
                           "ja": "保存された実行（閲覧のみ）: {name}、{when}（モデル {n} 個）。比較とレポートのページに、グラフ・判定・ダウンロードと共に表示されます。顔画像そのものは保存されていません。"},
    "history.which_run": {"en": "Training run (checkpoints in one folder or with one name stem)", "ja": "学習の実行（同じフォルダーまたは同じ名前の幹のチェックポイント）"},
    "history.remove": {"en": "Remove a run", "ja": "実行を削除"},
    "history.remove_pick": {"en": "Run to remove (from the store: its link stops working)", "ja": "削除する実行（保存先から削除され、リンクも使えなくなります）"},
    "history.remove_button": {"en": "Remove it", "ja": "削除する"},
    "history.pick": {"en": "Models to draw together (from any run on these faces)", "ja": "並べて描くモデル（この顔データでのどの実行からでも）"},
    "history.open_compare": {"en": "Show it on Compare", "ja": "比較ページで表示"},
    "history.close": {"en": "Start my own comparison", "ja": "自分の比較を始める"},
    "history.link_failed": {"en": "The run of this link could not be opened: {err}", "ja": "このリンクの実行を開けませんでした: {err}"},
    "history.share": {"en": "Link to this result (read-only, for anyone with the link): {link}",
                      "ja": "この結果へのリンク（閲覧のみ、リンクを知る人が開けます）: {link}"},
    "history.board": {"en": "Leaderboard on these faces ({name})", "ja": "この顔データでの順位（{name}）"},
    "history.board_none": {"en": "No stored run on exactly these faces yet.", "ja": "この顔データでの保存済みの実行はまだありません。"},
    "history.curve": {"en": "The training run as a curve", "ja": "学習の推移"},
    "history.curve_how": {"en": "Checkpoints with an epoch — in their file name (epoch18, 169epoch, e018, _ep60, -18.pth) or in "
                                "the checkpoint's own epoch entry: AUC and TAR against epoch with their 95% intervals over "
                                "people, the best one marked — did it overfit, and where should you stop?",
                          "ja": "エポックのあるチェックポイント（ファイル名の epoch18、169epoch、e018、_ep60、-18.pth、またはチェックポイント内の epoch）: エポックごとの AUC と TAR（人に関する 95% 区間付き）、最良の点に印。過学習したか、どこで止めるべきか。"},
    "history.col.when": {"en": "when", "ja": "日時"},
    "history.col.faces": {"en": "faces", "ja": "顔データ"},
    "history.col.images": {"en": "images", "ja": "画像数"},
    "history.col.models": {"en": "models", "ja": "モデル"},
    "history.col.link": {"en": "link", "ja": "リンク"},
    "history.col.epoch": {"en": "epoch", "ja": "エポック"},
    "sidebar.lang": {"en": "Language", "ja": "言語"},
    "sidebar.status": {"en": "{n_models} model(s) · {faces}", "ja": "モデル {n_models} 個 · {faces}"},
    "sidebar.demo": {"en": "Demo loaded: 3 checkpoints of one training run on ORL faces.",
                     "ja": "デモ: ORL 顔データで学習した 3 つのチェックポイント。"},
    "sidebar.reset": {"en": "Back to the demo", "ja": "デモに戻す"},
    # models
    "models.title": {"en": "Models", "ja": "モデル"},
    "models.intro": {"en": "Upload face-embedding models: ONNX files (with their .onnx.data side file if they have one) "
                               "or PyTorch state_dicts (.pth/.pt) of a timm backbone with a Linear embedding head.",
                     "ja": "顔の埋め込みモデルをアップロードします。ONNX（.onnx.data がある場合は一緒に）または timm バックボーン＋線形ヘッドの PyTorch state_dict（.pth/.pt）。"},
    "models.upload": {"en": "Add model files", "ja": "モデルファイルを追加"},
    "models.limit": {"en": "Up to {mb:,} MB per upload. Files are kept only for this browser session.",
                     "ja": "1 回のアップロードは {mb:,} MB まで。ファイルはこのブラウザのセッションの間だけ保持されます。"},
    "models.guard": {"en": "Each model runs in its own process: {limits} (a model past them fails alone).",
                     "ja": "各モデルは別プロセスで実行されます: {limits}（超えたモデルだけが失敗します）。"},
    "models.none": {"en": "No models yet: add some above.", "ja": "モデルがありません。上から追加してください。"},
    "models.name": {"en": "Display name", "ja": "表示名"},
    "models.arch": {"en": "Architecture (timm name)", "ja": "アーキテクチャ（timm 名）"},
    "models.arch_help": {"en": "Pre-filled from the weights; change it if the guess is wrong.",
                         "ja": "重みから推定した値です。違う場合は変更してください。"},
    "models.emb": {"en": "Embedding size", "ja": "埋め込み次元"},
    "models.preset": {"en": "Normalisation", "ja": "正規化"},
    "models.custom": {"en": "custom mean/std", "ja": "平均/標準偏差を指定"},
    "models.mean": {"en": "Mean R,G,B", "ja": "平均 R,G,B"},
    "models.std": {"en": "Std R,G,B", "ja": "標準偏差 R,G,B"},
    "models.size": {"en": "Input size H×W", "ja": "入力サイズ 高さ×幅"},
    "models.size_fixed": {"en": "fixed by the model: {h}×{w}", "ja": "モデルで固定: {h}×{w}"},
    "models.bgr": {"en": "Feed BGR instead of RGB", "ja": "RGB ではなく BGR で入力"},
    "models.crop": {"en": "Crop box x0,y0,x1,y1 (optional)", "ja": "切り抜き x0,y0,x1,y1（任意）"},
    "models.remove": {"en": "Remove", "ja": "削除"},
    "models.align": {"en": "Align faces (find the face, 5 landmarks → template)",
                     "ja": "顔の位置合わせ（顔を検出し 5 点の特徴点をテンプレートに合わせる）"},
    "models.flip": {"en": "Flip test (image + mirror, as InsightFace's eval)", "ja": "反転テスト（画像と左右反転の和、InsightFace の評価と同じ）"},
    "models.flip_help": {"en": "On: each image's embedding is the sum of the embeddings of the image and of its "
                               "horizontal mirror, as the field's 10-fold accuracies are usually reported. One more "
                               "forward pass per image.",
                         "ja": "オン: 各画像の埋め込みを、画像と左右反転画像の埋め込みの和にします（論文の 10 分割精度の多くはこの方法です）。"
                               "画像ごとに推論が 1 回増えます。"},
    "models.align_help": {"en": "On: each photo's face is found and warped onto the ArcFace template at this model's "
                                "input size, as face models are trained. Follows the Faces page's switch until you change it here.",
                          "ja": "オン: 各写真の顔を検出し、このモデルの入力サイズの ArcFace テンプレートに合わせます（顔認識モデルの学習と同じ方法）。"
                                "ここで変更するまでは顔画像ページのスイッチに従います。"},
    "models.sees": {"en": "What this model sees", "ja": "このモデルが見ている画像"},
    "models.sees_how": {"en": "Top: sample photos. Bottom: exactly what the network receives (crop or alignment, size, "
                                "normalisation undone; its first channel shown as red, so a blue face means B,G,R input).",
                        "ja": "上: サンプル写真。下: ネットワークに実際に入る画像（切り抜き・位置合わせ・サイズ。正規化は戻して表示。"
                              "1 番目のチャンネルを赤で表示するので、顔が青い場合は B,G,R の順で入力されています）。"},
    "models.read": {"en": "Read from the file", "ja": "ファイルから読み取った情報"},
    "models.export_ok": {"en": "Exported to ONNX; PyTorch and ONNX agree to {diff:.1e} (limit 1e-3).",
                         "ja": "ONNX に変換しました。PyTorch と ONNX の差は {diff:.1e}（上限 1e-3）。"},
    "models.error": {"en": "This model cannot be used: {err}", "ja": "このモデルは使えません: {err}"},
    "models.side_only": {"en": "{name}: a side file needs its .onnx uploaded in the same batch.",
                         "ja": "{name}: 付属ファイルは対応する .onnx と一緒にアップロードしてください。"},
    "models.unsupported": {"en": "{name}: not a model file (.onnx, .pth, .pt expected) — skipped.",
                           "ja": "{name}: モデルファイルではありません（.onnx, .pth, .pt）。スキップしました。"},
    "models.added": {"en": "Added {n} model(s).", "ja": "{n} 個のモデルを追加しました。"},
    # faces
    "faces.title": {"en": "Faces", "ja": "顔画像"},
    "faces.intro": {"en": "A labelled folder of face images the models never saw. Identity = sub-folder name "
                              "(alice/003.png) or the filename prefix before the first _ (alice_003.png).",
                    "ja": "モデルが見たことのない、ラベル付きの顔画像フォルダ。人物 = サブフォルダ名（alice/003.png）またはファイル名の最初の _ より前（alice_003.png）。"},
    "faces.source": {"en": "Where are the faces?", "ja": "顔画像の場所"},
    "faces.src.demo": {"en": "Demo: ORL faces, 20 unseen people", "ja": "デモ: ORL 顔画像（未学習の 20 人）"},
    "faces.src.dir": {"en": "Upload a folder", "ja": "フォルダをアップロード"},
    "faces.src.zip": {"en": "Upload a .zip", "ja": ".zip をアップロード"},
    "faces.src.path": {"en": "Folder on the server", "ja": "サーバー上のフォルダ"},
    "faces.src.bin": {"en": "An InsightFace .bin (lfw.bin…)", "ja": "InsightFace の .bin（lfw.bin など）"},
    "faces.bin": {"en": "Choose a .bin validation set", "ja": ".bin 検証セットを選択"},
    "faces.bin_how": {"en": "InsightFace's validation sets (lfw.bin, cfp_fp.bin, agedb_30.bin…, up to {mb} MB): "
                            "aligned 112×112 faces in pairs. Its pairs are the protocol; the 10-fold accuracy is "
                            "computed as InsightFace computes it. The file is read without running anything in it.",
                      "ja": "InsightFace の検証セット（lfw.bin、cfp_fp.bin、agedb_30.bin など、{mb} MB まで）: 位置合わせ済み 112×112 の顔のペアです。"
                            "ペアがそのまま評価の組になり、10 分割精度を InsightFace と同じ方法で計算します。ファイル内のコードは一切実行しません。"},
    "ident.title": {"en": "Identification (1:N)", "ja": "1:N 識別"},
    "ident.how": {"en": "Search each probe photo against a gallery of enrolled people: rank-1…20 (CMC) and the "
                        "share of searches missed (FNIR) when few searches for unknown people return someone (FPIR).",
                  "ja": "各プローブ写真を登録済みの人物（ギャラリー）と照合します: rank-1〜20（CMC）と、未登録の人の検索が誰かを返す割合（FPIR）を抑えたときの見逃し率（FNIR）。"},
    "ident.mode": {"en": "Gallery", "ja": "ギャラリー"},
    "ident.off": {"en": "Off", "ja": "オフ"},
    "ident.auto": {"en": "Automatic (every 10th person unknown, first photo enrolled)",
                   "ja": "自動（10 人に 1 人を未登録、各人の最初の写真を登録）"},
    "ident.csv": {"en": "From a CSV (image,role)", "ja": "CSV から（image,role）"},
    "ident.upload": {"en": "Gallery CSV: image,role (gallery or probe)", "ja": "ギャラリー CSV: image,role（gallery または probe）"},
    "ident.loaded": {"en": "{g} gallery and {p} probe images", "ja": "ギャラリー {g} 枚、プローブ {p} 枚"},
    "ident.results": {"en": "Identification (1:N)", "ja": "1:N 識別"},
    "ident.misses": {"en": "The hardest searches: probes whose own person is not first, worst first",
                     "ja": "最も難しい検索: 本人が 1 位にならなかったプローブ（悪い順）"},
    "ident.col.probe": {"en": "probe", "ja": "プローブ"},
    "ident.col.rank": {"en": "rank of the mate", "ja": "本人の順位"},
    "ident.col.mate": {"en": "mate's score", "ja": "本人のスコア"},
    "ident.col.other": {"en": "first instead", "ja": "1 位になった人"},
    "ident.col.other_score": {"en": "its score", "ja": "そのスコア"},
    "decide.title": {"en": "At a target FAR: each model at its own threshold",
                     "ja": "目標 FAR で: 各モデルをそれぞれのしきい値で"},
    "decide.how": {"en": "Models put their scores in different places, so one shared threshold judges them unfairly. "
                         "Here each model is set to the same false accept rate and judged there. Turn on "
                         "“choose on other people” to pick each threshold on half of the people and measure it on "
                         "the other half (what a deployment will see), with 95% intervals.",
                   "ja": "モデルごとにスコアの位置が違うため、共通のしきい値では公平に比べられません。ここでは各モデルを同じ他人受入率に合わせて比べます。"
                         "「別の人でしきい値を決める」をオンにすると、半分の人でしきい値を決め、残りの半分で測ります（実運用で見える値、95% 区間付き）。"},
    "decide.far": {"en": "Target false accept rate", "ja": "目標の他人受入率"},
    "decide.col.threshold": {"en": "its threshold", "ja": "しきい値"},
    "decide.col.dev": {"en": "threshold set on other people", "ja": "別の人で決めたしきい値"},
    "decide.col.eval_far": {"en": "FAR on the rest (95%)", "ja": "残りの人での FAR（95%）"},
    "decide.col.eval_frr": {"en": "FRR on the rest (95%)", "ja": "残りの人での FRR（95%）"},
    "decide.not_measurable": {"en": "— (too few pairs)", "ja": "—（ペア不足）"},
    "decide.split": {"en": "Choose each threshold on other people (half the people, seeded)",
                     "ja": "別の人でしきい値を決める（半分の人、シード固定）"},
    "report.thresholds": {"en": "Threshold file (JSON)", "ja": "しきい値ファイル（JSON）"},
    "tenfold.title": {"en": "10-fold accuracy (as the field reports it)", "ja": "10 分割精度（論文で報告される値）"},
    "faces.dir": {"en": "Choose a folder of faces", "ja": "顔画像のフォルダを選択"},
    "faces.zip": {"en": "Choose a .zip of faces", "ja": "顔画像の .zip を選択"},
    "faces.loaded": {"en": "Loaded now: “{name}”. Choose another to replace it.",
                     "ja": "現在読み込まれているもの:「{name}」。別のものを選ぶと置き換わります。"},
    "faces.not_image": {"en": "not an image file (left out by the browser)", "ja": "画像ファイルではありません（ブラウザで除外）"},
    "faces.unpacking": {"en": "Unpacking the faces…", "ja": "顔画像を展開中…"},
    "faces.fz.pick": {"en": "Choose a folder of faces", "ja": "顔画像のフォルダを選択"},
    "faces.fz.hint": {"en": "Your browser packs the folder's images into one file and sends it at once (nothing else in "
                            "the folder is sent). For very large sets a .zip made beforehand is quickest: “Upload a .zip”.",
                      "ja": "ブラウザがフォルダ内の画像を 1 つのファイルにまとめて一度に送ります（画像以外は送りません）。"
                            "非常に大きなセットは、あらかじめ作った .zip が一番速いです:「.zip をアップロード」。"},
    "faces.fz.reading": {"en": "Reading {done} / {n} images…", "ja": "画像を読み込み中 {done} / {n}…"},
    "faces.fz.packing": {"en": "Packing {n} images…", "ja": "{n} 枚の画像をまとめています…"},
    "faces.fz.sending": {"en": "Sending {n} images ({mb} MB)…", "ja": "{n} 枚の画像を送信中（{mb} MB）…"},
    "faces.fz.sent": {"en": "Sent {n} images.", "ja": "{n} 枚の画像を送りました。"},
    "faces.fz.none": {"en": "No images in that folder (.jpg, .png, .pgm, .bmp, .tif, .webp).",
                      "ja": "そのフォルダに画像がありません（.jpg、.png、.pgm、.bmp、.tif、.webp）。"},
    "faces.fz.too_big": {"en": "{n} images, {mb} MB: too many for a folder upload. Make a .zip of the folder and use "
                               "“Upload a .zip” (up to 20,000 images).",
                         "ja": "{n} 枚、{mb} MB: フォルダのアップロードには多すぎます。フォルダを .zip にして「.zip をアップロード」を使ってください（20,000 枚まで）。"},
    "faces.fz.failed": {"en": "The folder could not be read: {err}", "ja": "フォルダを読み込めませんでした: {err}"},
    "faces.path": {"en": "Folder path on the server", "ja": "サーバー上のフォルダのパス"},
    "faces.use_path": {"en": "Use this folder", "ja": "このフォルダを使う"},
    "faces.labels": {"en": "Identity from", "ja": "人物の判定"},
    "faces.lab.auto": {"en": "auto", "ja": "自動"},
    "faces.lab.folder": {"en": "sub-folder name", "ja": "サブフォルダ名"},
    "faces.lab.prefix": {"en": "filename prefix", "ja": "ファイル名の接頭辞"},
    "faces.summary": {"en": "{n_images:,} images of {n_id} people → {n_gen:,} same-person pairs and {n_imp:,} different-person pairs",
                      "ja": "{n_id} 人の画像 {n_images:,} 枚 → 同じ人のペア {n_gen:,} 組、別人のペア {n_imp:,} 組"},
    "faces.per_id": {"en": "Images per person", "ja": "人物ごとの画像数"},
    "faces.samples": {"en": "Sample faces", "ja": "サンプル画像"},
    "faces.skipped": {"en": "Skipped files ({n})", "ja": "スキップしたファイル（{n}）"},
    "faces.none": {"en": "Choose faces above.", "ja": "上で顔画像を選んでください。"},
    "faces.limit": {"en": "Up to {mb:,} MB per upload; at most 20,000 images.",
                    "ja": "1 回のアップロードは {mb:,} MB まで、画像は最大 20,000 枚。"},
    "faces.path_denied": {"en": "Folders on the server are limited to {root}.", "ja": "サーバー上のフォルダは {root} の中に限られます。"},
    "faces.col.path": {"en": "file", "ja": "ファイル"},
    "faces.col.reason": {"en": "why", "ja": "理由"},
    "faces.align": {"en": "Find and align the faces for every model", "ja": "すべてのモデルで顔を検出して位置合わせする"},
    "faces.align_help": {"en": "Detects each face with YuNet (OpenCV Zoo) and warps its eyes, nose and mouth corners onto "
                                "the template face models are trained on. Needed for photos that are not cut to the face.",
                         "ja": "YuNet（OpenCV Zoo）で顔を検出し、目・鼻・口角を顔認識モデルの学習に使われるテンプレートに合わせます。"
                               "顔だけに切り抜かれていない写真で必要です。"},
    "faces.suggest.small": {"en": "These look like photos, not face crops: the faces fill only about {share:.0%} of the "
                                  "photos' width, so the models would mostly see background. Turn on alignment below.",
                            "ja": "顔だけに切り抜かれていない写真のようです。顔は写真の幅の約 {share:.0%} しかなく、"
                                  "モデルは主に背景を見ることになります。下で位置合わせをオンにしてください。"},
    "faces.suggest.spread": {"en": "The faces sit in different places in these photos (the eyes move by about {spread:.0%} "
                                   "of a face's width). Turn on alignment below to put every face where the models expect it.",
                             "ja": "写真によって顔の位置がばらばらです（目の位置が顔の幅の約 {spread:.0%} 動きます）。"
                                   "下で位置合わせをオンにすると、すべての顔がモデルの想定する位置に揃います。"},
    "faces.few_faces": {"en": "A face was found in only {found} of {n} sample images, so alignment would leave most "
                              "of them out.",
                        "ja": "サンプル {n} 枚のうち顔が見つかったのは {found} 枚だけなので、位置合わせするとほとんどの画像が除外されます。"},
    "faces.framed": {"en": "The faces are already framed alike ({n} sample images checked); alignment is optional.",
                     "ja": "顔はすでに同じように切り抜かれています（サンプル {n} 枚を確認）。位置合わせは任意です。"},
    "faces.align_on": {"en": "Alignment is on: every model gets aligned faces (a model can opt out on Models).",
                       "ja": "位置合わせはオンです: すべてのモデルに位置合わせした顔を入力します（モデルページで個別にオフにできます）。"},
    "faces.before_after": {"en": "Before and after alignment", "ja": "位置合わせの前と後"},
    "faces.no_detector": {"en": "Face detection is unavailable here: {why}", "ja": "顔検出が使えません: {why}"},
    # compare
    "compare.title": {"en": "Compare", "ja": "比較"},
    "compare.run": {"en": "Run the comparison", "ja": "比較を実行"},
    "compare.need": {"en": "Add at least one usable model and a folder of faces first.",
                     "ja": "先に使えるモデルを 1 つ以上と顔画像フォルダを用意してください。"},
    "compare.cancel": {"en": "Cancel", "ja": "キャンセル"},
    "compare.queued": {"en": "Waiting for a free slot: your comparison is number {place} in line (this server runs at "
                             "most {n} at once). It starts by itself; Cancel leaves the line.",
                       "ja": "空きを待っています: あなたの比較は {place} 番目です（このサーバーで同時に実行するのは最大 {n} 件）。自動的に始まります。キャンセルで列を離れます。"},
    "compare.cancelled": {"en": "The comparison was cancelled. Press “Run the comparison” to start it again.",
                          "ja": "比較をキャンセルしました。もう一度始めるには「比較を実行」を押してください。"},
    "compare.stale": {"en": "Models or faces changed since the last run.", "ja": "前回の実行後にモデルまたは顔画像が変わりました。"},
    "compare.log": {"en": "Log-scale FAR axis", "ja": "FAR 軸を対数目盛に"},
    "compare.log_help": {"en": "On a log axis the low-FAR region (one stranger in 1,000 or 10,000 accepted), where face "
                                 "models are used, is wide enough to compare; on a linear axis every good model hugs the corner.",
                         "ja": "対数目盛では、顔認識が実際に使われる低 FAR の範囲（他人 1,000 人や 10,000 人に 1 人を受け入れる）が広く見えて比較できます。"
                               "線形目盛では良いモデルはどれも左上の角に張り付きます。"},
    "compare.ready": {"en": "{n} model(s) and the faces “{faces}” are ready. Press “Run the comparison” to start.",
                      "ja": "{n} 個のモデルと顔画像「{faces}」の準備ができました。「比較を実行」を押して開始してください。"},
    "compare.rates": {"en": "accuracy **{acc:.3f}** · precision **{prec:.3f}** · recall (TAR) **{rec:.3f}** · "
                            "F1 **{f1:.3f}** · FAR **{far:.4f}**",
                      "ja": "正解率 **{acc:.3f}** · 適合率 **{prec:.3f}** · 再現率（TAR） **{rec:.3f}** · "
                            "F1 **{f1:.3f}** · FAR **{far:.4f}**"},
    "compare.dist_how": {"en": "One panel per model, best first, each on its own scale (each kind of pair normalised "
                                 "on its own); the dashed line is the threshold above.",
                         "ja": "モデルごとに 1 つのパネル（良い順）。それぞれ独自の目盛で、ペアの種類ごとに正規化しています。点線は上のしきい値です。"},
    "compare.table": {"en": "Scores (best first; the best model is highlighted)", "ja": "スコア（良い順。最良モデルを強調）"},
    "compare.threshold": {"en": "Decision threshold (accept a pair as the same person if its score ≥ threshold)",
                          "ja": "判定しきい値（スコアがしきい値以上なら同一人物と判定）"},
    "compare.at_threshold": {"en": "At threshold {t:.3f}", "ja": "しきい値 {t:.3f} のとき"},
    "compare.dist": {"en": "Score distributions: same person (green) vs different people (red)",
                     "ja": "スコアの分布: 同じ人（緑）と別人（赤）"},
    "compare.failed": {"en": "{name} was not evaluated: {err}", "ja": "{name} は評価できませんでした: {err}"},
    "compare.stage.read": {"en": "Reading images", "ja": "画像を読み込み中"},
    "compare.stage.faces": {"en": "Finding faces", "ja": "顔を検出中"},
    "compare.faces_note": {"en": "Faces were detected in {n:,} images: {none} without a face (left out for the aligned "
                                 "models), {several} with several faces (the largest was used).",
                           "ja": "{n:,} 枚の画像で顔を検出しました: 顔が見つからない画像 {none} 枚（位置合わせするモデルでは除外）、"
                                 "複数の顔がある画像 {several} 枚（一番大きい顔を使用）。"},
    "compare.several": {"en": "several faces: the largest was used", "ja": "複数の顔: 一番大きい顔を使用"},
    "compare.left_out": {"en": "Images left out or worth a look ({n})", "ja": "除外した画像・確認が必要な画像（{n}）"},
    "compare.stage.embed": {"en": "Embedding with {model}", "ja": "{model} で埋め込み中"},
    "compare.stage.score": {"en": "Scoring all pairs", "ja": "全ペアを採点中"},
    "compare.stage.prepare": {"en": "Preparing {model}", "ja": "{model} を準備中"},
    "compare.done": {"en": "Evaluated {n} model(s) on {pairs:,} pairs in {s:.1f} s.",
                     "ja": "{n} 個のモデルを {pairs:,} ペアで評価しました（{s:.1f} 秒）。"},
    "compare.stored": {"en": "(Computed once when FaceROC was set up; press Run to compute it again.)",
                       "ja": "（FaceROC のセットアップ時に計算済み。もう一度計算するには「比較を実行」を押してください。）"},
    "compare.curve": {"en": "Curve", "ja": "曲線"},
    "compare.curve_help": {"en": "ROC: true accepts against false accepts. DET: false rejects against false accepts, "
                                 "both on log axes, as biometric standards (ISO/IEC 19795-1) and NIST reports draw it.",
                           "ja": "ROC: 本人受入率と他人受入率。DET: 本人拒否率と他人受入率を両対数で（ISO/IEC 19795-1 や NIST の報告書と同じ描き方）。"},
    "why.title": {"en": "Where the models go wrong", "ja": "モデルが間違えるところ"},
    "why.how": {"en": "The pairs a model finds hardest, with their faces, judged at the threshold above; and the "
                      "people it finds hardest. Other models' scores on the same pair are shown for comparison.",
                "ja": "モデルが最も苦手なペアを顔写真で、上のしきい値で判定して示します。苦手な人物も一覧にします。"
                      "同じペアに対する他のモデルのスコアも比較のために表示します。"},
    "why.model": {"en": "Model", "ja": "モデル"},
    "why.impostors": {"en": "Different people it finds most alike (false accepts when above the threshold)",
                      "ja": "最も似ていると判断した別人のペア（しきい値以上なら誤受入）"},
    "why.genuines": {"en": "The same person it finds least alike (false rejects when below the threshold)",
                     "ja": "最も似ていないと判断した同じ人のペア（しきい値未満なら誤拒否）"},
    "why.accepted": {"en": "accepted", "ja": "受入"},
    "why.rejected": {"en": "rejected", "ja": "拒否"},
    "why.others": {"en": "other models", "ja": "他のモデル"},
    "why.disagree": {"en": "Where {first} and {second} disagree ({n} pairs)", "ja": "{first} と {second} の判断が分かれるペア（{n} 組）"},
    "why.disagree_how": {"en": "Each model judged at its own threshold (the one for FAR = 0.001, else its equal-error one); "
                               "the clearest disagreements first.",
                         "ja": "各モデルをそれぞれのしきい値（FAR = 0.001 のもの、なければ EER のもの）で判定し、判断の差がはっきりしているものから表示します。"},
    "why.people": {"en": "People, hardest first", "ja": "人物（苦手な順）"},
    "why.col.face": {"en": "face", "ja": "顔"},
    "why.col.closest_face": {"en": "mistaken for", "ja": "間違えた相手"},
    "why.col.person": {"en": "person", "ja": "人物"},
    "why.col.images": {"en": "images", "ja": "画像数"},
    "why.col.mean": {"en": "same-person mean score", "ja": "本人ペアの平均スコア"},
    "why.col.rejects": {"en": "false rejects at the threshold", "ja": "しきい値での誤拒否"},
    "why.col.pairs": {"en": "same-person pairs", "ja": "本人ペア数"},
    "why.col.closest": {"en": "most similar other person", "ja": "最も似ている別人"},
    "why.col.closest_score": {"en": "their highest score", "ja": "その最高スコア"},
    "groups.title": {"en": "Groups of people (optional)", "ja": "人物のグループ（任意）"},
    "groups.how": {"en": "A CSV with one row per person: identity,<attribute>,... (e.g. identity,age_band,glasses). "
                         "Compare then shows each model's results within each group.",
                   "ja": "1 人 1 行の CSV: identity,<属性>,...（例: identity,age_band,glasses）。比較ページに各グループ内での各モデルの結果が表示されます。"},
    "groups.upload": {"en": "People's attributes (.csv)", "ja": "人物の属性（.csv）"},
    "groups.loaded": {"en": "Groups from “{name}”: {attrs} (values per attribute). Run the comparison to see them.",
                      "ja": "「{name}」のグループ: {attrs}（属性ごとの値の数）。比較を実行すると表示されます。"},
    "groups.mismatch": {"en": "{unknown} identity(ies) in the CSV are not in these faces; {missing} person(s) here have no "
                              "row (they belong to no group).",
                        "ja": "CSV の {unknown} 人はこの顔画像にいません。ここにいる {missing} 人は CSV に行がありません（どのグループにも入りません）。"},
    "groups.remove": {"en": "Remove the groups", "ja": "グループを外す"},
    "groups.results": {"en": "Groups of people", "ja": "人物のグループ"},
    "groups.results_how": {"en": "Each model on the pairs within each group: AUC with its 95% interval over "
                                 "people, and the false match (FMR) and false non-match (FNMR) rates at one threshold for "
                                 "everyone, the one that gives FMR = 0.001 on all pairs (as NIST reports demographic "
                                 "differences). Groups too small to tell are marked, not ranked.",
                           "ja": "各グループ内のペアでの各モデルの結果: AUC と人物にもとづく 95% 区間、そして全ペアで FMR = 0.001 となる共通のしきい値での"
                                 "他人誤一致率（FMR）と本人誤不一致率（FNMR）（NIST の属性別評価と同じ方法）。判断できないほど小さいグループは印を付け、順位付けしません。"},
    "groups.attribute": {"en": "Attribute", "ja": "属性"},
    "groups.col.group": {"en": "group", "ja": "グループ"},
    "groups.col.people": {"en": "people", "ja": "人数"},
    "groups.col.note": {"en": "note", "ja": "注"},
    "groups.too_small": {"en": "too small to tell", "ja": "小さすぎて判断できません"},
    "health.title": {"en": "Check your test set", "ja": "テストデータの確認"},
    "health.clean": {"en": "No labelling problems found: the {n} model(s) agree on no person filed under two names, no "
                           "photo under the wrong person and no photo under two names.",
                     "ja": "ラベルの問題は見つかりませんでした（{n} 個のモデルのいずれも、同一人物の二重登録・人物の取り違え・同じ写真の重複を示していません）。"},
    "health.found": {"en": "{n} likely problem(s) in the test set itself: the models agree on them, and each lowers every "
                           "model's score. Check the faces below and fix the folders.",
                     "ja": "テストデータ自体に問題がありそうな箇所が {n} 件あります（モデルの判断が一致しており、どのモデルのスコアも下げます）。"
                           "下の顔写真を確認してフォルダを直してください。"},
    "health.fix.same_person_two_names": {"en": "Merge these two names", "ja": "2 つの名前を統合する"},
    "health.fix.wrong_identity": {"en": "Leave this photo out", "ja": "この写真を除外する"},
    "health.fix.duplicate_image": {"en": "Leave the copies out", "ja": "コピーを除外する"},
    "health.fixed": {"en": "Your fixes are applied: {n} photo(s) left out, {m} pair(s) of names merged (the files are "
                           "unchanged).", "ja": "修正を適用しました: 除外した写真 {n} 枚、統合した名前 {m} 組（ファイルは変更していません）。"},
    "health.undo": {"en": "Undo the fixes", "ja": "修正を元に戻す"},
    "health.kind.same_person_two_names": {"en": "One person under two names", "ja": "同じ人物が 2 つの名前で登録"},
    "health.kind.wrong_identity": {"en": "A photo filed under the wrong person", "ja": "別の人物に登録された写真"},
    "health.kind.duplicate_image": {"en": "The same photo under two names", "ja": "同じ写真が 2 人に登録"},
    "col.model": {"en": "model", "ja": "モデル"},
    "col.ci": {"en": "AUC 95% interval", "ja": "AUC 95% 区間"},
    "col.ci_of": {"en": "{m} 95% interval", "ja": "{m} 95% 区間"},
    "col.common": {"en": "AUC · on the {n} images every model used", "ja": "AUC · 全モデル共通の {n} 枚"},
    "col.fta": {"en": "images it could not use (FtA)", "ja": "使えなかった画像（FtA）"},
    "col.pairs": {"en": "pairs (same / different)", "ja": "ペア（同じ / 別人）"},
    "cm.accepted": {"en": "accepted", "ja": "受入"},
    "cm.rejected": {"en": "rejected", "ja": "拒否"},
    "cm.same": {"en": "same person", "ja": "同じ人"},
    "cm.diff": {"en": "different people", "ja": "別人"},
    # report
    "report.title": {"en": "Report", "ja": "レポート"},
    "report.none": {"en": "Run a comparison first (Compare page).", "ja": "先に比較を実行してください（比較ページ）。"},
    "report.downloads": {"en": "Downloads", "ja": "ダウンロード"},
    "report.html": {"en": "Report (HTML, opens offline)", "ja": "HTML レポート（オフライン可）"},
    "report.csv": {"en": "Metrics (CSV)", "ja": "指標（CSV）"},
    "report.json": {"en": "Metrics (JSON)", "ja": "指標（JSON）"},
    "report.roc": {"en": "ROC points (CSV)", "ja": "ROC の点（CSV）"},
    "report.png": {"en": "Chart (PNG)", "ja": "グラフ（PNG）"},
    "report.svg": {"en": "Chart (SVG)", "ja": "グラフ（SVG）"},
    "report.det_png": {"en": "DET chart (PNG)", "ja": "DET グラフ（PNG）"},
    "report.det_svg": {"en": "DET chart (SVG)", "ja": "DET グラフ（SVG）"},
    "report.downloads_how": {"en": "Each file is made when you press its button (the HTML report and the charts take a "
                                   "few seconds). The ROC curves and the charts follow the language and the FAR axis "
                                   "chosen on the Compare page; the ROC points (CSV) are the curve's corners (lossless), and the "
                                   "JSON's curve keeps TAR within 0.0001 of the full curve at any FAR (lossless on "
                                   "small sets); the metrics are exact in both.",
                             "ja": "各ファイルはボタンを押したときに作成されます（HTML レポートとグラフは数秒かかります）。"
                                   "ROC 曲線とグラフは言語と比較ページの FAR 軸の設定に従います。ROC の点（CSV）は曲線の角の点です（情報の欠落はありません）。JSON の曲線はどの FAR でも TAR の誤差が 0.0001 以内です（小さなデータでは欠落なし）。指標はどちらも厳密です。"},
    "report.caveats": {"en": "Caveats", "ja": "注意点"},
    # about
    "about.body": {"en": "FaceROC compares face-recognition (embedding) models on your own labelled faces: every pair of "
                             "images is scored by cosine similarity and each model gets its ROC curve, AUC, EER and TAR at fixed FARs.",
                   "ja": "FaceROC は、あなたのラベル付き顔画像で顔認識（埋め込み）モデルを比較します。全ての画像ペアをコサイン類似度で採点し、モデルごとに ROC 曲線、AUC、EER、固定 FAR での TAR を求めます。"},
    "about.credits": {"en": "Demo faces: the ORL face database (AT&T Laboratories Cambridge), courtesy of Olivetti Research "
                                "Laboratory — F. Samaria and A. Harter, 1994.",
                      "ja": "デモの顔画像: ORL 顔データベース（AT&T Laboratories Cambridge）。Olivetti Research Laboratory の厚意による — F. Samaria, A. Harter, 1994。"},
    "about.libs": {"en": "Folder uploads are packed in your browser by fflate (MIT licence, Arjun Barrett). Japanese "
                         "chart exports use the IPAexGothic font (IPA Font License), shipped by japanize-matplotlib.",
                   "ja": "フォルダのアップロードはブラウザ内で fflate（MIT ライセンス、Arjun Barrett）がまとめます。"
                         "日本語のグラフの書き出しには IPAex ゴシック（IPA フォントライセンス、japanize-matplotlib 同梱）を使用しています。"},
    "about.detector": {"en": "Face detection: YuNet from the OpenCV Zoo (MIT licence), Shiqi Yu et al., libfacedetection.",
                       "ja": "顔検出: OpenCV Zoo の YuNet（MIT ライセンス）、Shiqi Yu ほか、libfacedetection。"},
    "err.quota": {"en": "This upload would bring this session's files to {gb} GB, over its {quota:g} GB limit: remove "
                        "some models or faces first (or upload a smaller set).",
                  "ja": "このアップロードでセッションのファイルが {gb} GB になり、上限 {quota:g} GB を超えます。"
                        "先にモデルや顔画像を削除してください（または小さいセットをアップロードしてください）。"},
    "err.unexpected": {"en": "Something went wrong with {what}: {err}", "ja": "{what} で問題が発生しました: {err}"},
}


def lang() -> str:
    return st.session_state.get("lang", "en")


def t(key: str, **kw) -> str:
    entry = S.get(key)
    if entry is None:
        return key
    text = entry.get(lang()) or entry["en"]
    return text.format(**kw) if kw else text
