// Every word the page shows, in Japanese and English. {name} marks a value filled in.
// Field types, option names and the API's own error details stay as the API spells them:
// they are what a spec file says.
'use strict';

const MESSAGES = {
  'page.title': { ja: 'TestData Buddy — テストデータ作成', en: 'TestData Buddy — test data' },
  'page.tagline': {
    ja: 'QA のためのテストデータを、必要な件数だけ。',
    en: 'Test data for QA, at any size.',
  },
  'lang.label': { ja: '表示言語', en: 'Language' },

  'key.label': { ja: 'API キー', en: 'API key' },
  'key.placeholder': { ja: 'tdb_… で始まるキーを貼り付けてください', en: 'Paste your tdb_… key' },
  'key.forget': { ja: 'キーを消去', en: 'Forget key' },
  'key.note': {
    ja: 'キーはこのタブの中だけに保持され、タブを閉じると消えます。送信先はこのサイトの API だけです。',
    en: 'The key stays in this tab only and is forgotten when you close it. It is sent to this site’s API and nowhere else.',
  },
  'key.missing': { ja: 'まず API キーを入力してください。', en: 'Enter your API key first.' },
  'key.checking': { ja: 'キーを確認しています…', en: 'Checking the key…' },
  'key.ok': { ja: '{name} さんとして利用中（プラン: {plan}）', en: 'Signed in as {name} (plan: {plan})' },
  'key.bad': {
    ja: 'この API キーは使えません（登録されていないか、無効化されています）。',
    en: 'This API key does not work (unknown or revoked).',
  },

  'ai.title': { ja: 'AI に相談して作る', en: 'Ask the AI assistant' },
  'ai.help': {
    ja: '欲しいデータを日本語か英語で書いてください。提案された定義が下のフォームに入ります（今のフィールドは置き換わります）。',
    en: 'Describe the data you need, in English or Japanese. The suggested spec fills the form below, replacing its fields.',
  },
  'ai.placeholder': {
    ja: '例: 会員ランクと購入履歴のある、日本の EC サイトの顧客 500 人',
    en: 'e.g. 500 Japanese e-commerce customers with loyalty tiers and order history',
  },
  'ai.locale_free': {
    ja: 'ロケール: 説明文から AI が選びます（固定したいときはフォームのロケールを選んでください）。',
    en: 'Locale: the assistant picks it from your description (choose one in the form to fix it).',
  },
  'ai.locale_fixed': {
    ja: 'ロケール: フォームで選んだ {locale} を使います。',
    en: 'Locale: {locale}, as chosen in the form.',
  },
  'ai.run': { ja: '定義を提案してもらう', en: 'Suggest a spec' },
  'ai.working': { ja: 'AI が定義を考えています…', en: 'The assistant is working on it…' },
  'ai.empty': { ja: '作りたいデータの説明を入力してください。', en: 'Describe the data you want first.' },
  'ai.done': {
    ja: '提案をフォームに反映しました（使用トークン: 入力 {input}、出力 {output}）。',
    en: 'The suggestion is in the form ({input} input and {output} output tokens).',
  },
  'ai.invalid': {
    ja: 'AI の提案はフォームに反映できませんでした。フォームは変更していません: {detail}',
    en: 'The suggestion could not be used; the form is unchanged: {detail}',
  },
  'ai.unavailable': {
    ja: 'AI アシスタントは現在使えません: {detail}',
    en: 'The assistant is not available: {detail}',
  },

  'builder.title': { ja: 'データセットの定義', en: 'Dataset' },
  'spec.name': { ja: 'データセット名', en: 'Name' },
  'spec.locale': { ja: 'ロケール', en: 'Locale' },
  'spec.format': { ja: '出力形式', en: 'Format' },
  'spec.rows': { ja: '行数', en: 'Rows' },
  'spec.seed': { ja: 'シード', en: 'Seed' },
  'spec.seed_placeholder': { ja: '空欄ならランダム', en: 'random if empty' },
  'spec.seed_help': {
    ja: '同じ定義と同じシードからは、何度生成してもまったく同じファイルができます。',
    en: 'The same spec with the same seed always gives exactly the same file.',
  },
  'spec.gzip': { ja: 'gzip で圧縮する', en: 'Compress with gzip' },
  'locale.common': { ja: 'よく使うロケール', en: 'Most used' },
  'locale.others': { ja: 'その他のロケール', en: 'Other locales' },
  'locale.same': { ja: '（データセットと同じ）', en: '(same as the dataset)' },
  'extras.note': {
    ja: 'この定義には、フォームでは編集できない設定（{keys}）が含まれています。送信時にはそのまま使われます。',
    en: 'This spec has settings the form does not edit ({keys}); they are sent as they are.',
  },
  'extras.drop': { ja: 'これらの設定を外す', en: 'Drop them' },

  'fields.title': { ja: 'フィールド（列）', en: 'Fields' },
  'fields.add': { ja: '＋ フィールドを追加', en: '+ Add field' },
  'field.name': { ja: '列名', en: 'Column name' },
  'field.type': { ja: 'データ型', en: 'Type' },
  'field.up': { ja: '上へ移動', en: 'Move up' },
  'field.down': { ja: '下へ移動', en: 'Move down' },
  'field.remove': { ja: 'このフィールドを削除', en: 'Remove this field' },
  'field.more': { ja: 'その他のオプション（{names}）', en: 'More options ({names})' },
  'field.common': { ja: '共通オプション（NULL・重複なし・ロケールなど）', en: 'Common options (nulls, unique, locale…)' },
  'field.example': { ja: '例: {value}', en: 'e.g. {value}' },
  'field.required': { ja: '必須', en: 'required' },
  'field.default': { ja: '既定値 {value}', en: 'default {value}' },
  'field.range': { ja: '{min}〜{max}', en: '{min} to {max}' },
  'field.list': { ja: 'カンマ区切り', en: 'comma-separated' },
  'field.choose': { ja: '— 選んでください —', en: '— choose —' },
  'field.use_default': { ja: '既定（{value}）', en: 'default ({value})' },
  'field.no_options': { ja: 'この型に固有のオプションはありません。', en: 'This type has no options of its own.' },
  'opt.null_rate': { ja: 'NULL にする割合（0〜1）', en: 'Share of nulls (0–1)' },
  'opt.unique': { ja: '値を重複させない', en: 'No repeated values' },
  'opt.locale': { ja: 'この列だけのロケール', en: 'Locale of this column' },
  'opt.edge_case_rate': { ja: 'エッジケースを混ぜる割合（0〜1）', en: 'Share of edge cases (0–1)' },

  'where.field': { ja: 'フィールド {n}「{name}」の {option}', en: 'field {n} ({name}), {option}' },
  'where.field_only': { ja: 'フィールド {n}「{name}」', en: 'field {n} ({name})' },
  'error.spec': { ja: '定義に問題があります。{where}: {detail}', en: 'The spec has a problem. {where}: {detail}' },
  'error.network': { ja: 'サーバーに接続できませんでした。', en: 'Could not reach the server.' },
  'error.unauthorized': {
    ja: 'API キーが正しくありません。入力し直してください。',
    en: 'The API key was refused. Check it and try again.',
  },
  'error.rate': {
    ja: 'リクエストが多すぎます。{seconds} 秒ほど待ってからもう一度お試しください。',
    en: 'Too many requests: try again in {seconds} s.',
  },
  'error.http': { ja: 'エラー（{status}）: {detail}', en: 'Error ({status}): {detail}' },

  'preview.title': { ja: 'プレビュー', en: 'Preview' },
  'preview.run': { ja: 'プレビューを表示', en: 'Preview' },
  'preview.auto': { ja: '編集するたびに更新', en: 'Update as I edit' },
  'preview.loading': { ja: 'プレビューを作成しています…', en: 'Making the preview…' },
  'preview.empty': {
    ja: '「プレビューを表示」を押すと、生成されるデータの先頭 20 行がここに表示されます。',
    en: 'Press Preview to see the first 20 rows of the data here.',
  },
  'preview.caption': {
    ja: '先頭 {count} 行（ロケール {locale}、シード {seed}）。同じシードで生成したファイルの先頭と同じ内容です。',
    en: 'First {count} rows (locale {locale}, seed {seed}): the very rows a file with this seed starts with.',
  },
  'preview.random_seed': {
    ja: 'シードが空欄のため、ランダムなシード {seed} で表示しています。このデータのまま生成したい場合は、このシードを使ってください。',
    en: 'The seed is empty, so a random one ({seed}) was used. Use it to get a file that starts with these rows.',
  },
  'preview.use_seed': { ja: 'このシードを使う', en: 'Use this seed' },
  'preview.other_tables': {
    ja: 'プレビューは最初のテーブルだけです（ほかのテーブル: {tables}）。',
    en: 'Only the first table is previewed (other tables: {tables}).',
  },
  'preview.stale': {
    ja: '下の表は前回のプレビューです。定義を直すと更新されます。',
    en: 'The table below is the last good preview; fix the spec to update it.',
  },

  'generate.title': { ja: 'ファイルを生成', en: 'Generate' },
  'generate.run': { ja: 'この定義で生成する', en: 'Generate the file' },
  'generate.sending': { ja: '送信しています…', en: 'Submitting…' },
  'job.rows': { ja: '{done} / {total} 行', en: '{done} of {total} rows' },
  'job.cancel': { ja: '生成をキャンセル', en: 'Cancel' },
  'job.download': { ja: 'ダウンロード（{file}、{size}）', en: 'Download ({file}, {size})' },
  'job.expires': { ja: 'ダウンロードの期限: {time}', en: 'The link works until {time}' },
  'job.failed': { ja: '生成に失敗しました: {error}', en: 'Generation failed: {error}' },
  'job.cancelled': { ja: 'この生成はキャンセルされました。', en: 'This job was cancelled.' },
  'job.expired': { ja: 'ファイルの保存期限が切れました。', en: 'The file has expired.' },
  'job.seed': { ja: 'シード {seed}', en: 'seed {seed}' },

  'state.queued': { ja: '待機中', en: 'Queued' },
  'state.running': { ja: '生成中', en: 'Running' },
  'state.succeeded': { ja: '完了', en: 'Done' },
  'state.failed': { ja: '失敗', en: 'Failed' },
  'state.cancelled': { ja: 'キャンセル済み', en: 'Cancelled' },
  'state.expired': { ja: '期限切れ', en: 'Expired' },

  'json.title': { ja: '送信される JSON（定義）', en: 'Spec JSON' },
  'json.copy': { ja: 'コピー', en: 'Copy' },
  'json.copied': { ja: 'コピーしました。', en: 'Copied.' },
  'json.import_label': { ja: 'JSON から読み込む', en: 'Load a spec' },
  'json.import_placeholder': {
    ja: 'examples/*.json のような定義の JSON を貼り付けてください',
    en: 'Paste a spec’s JSON, like examples/*.json',
  },
  'json.load': { ja: 'フォームに読み込む', en: 'Load into the form' },
  'json.loaded': { ja: 'フォームに読み込みました。', en: 'Loaded into the form.' },
  'json.bad': { ja: 'JSON として読み込めません: {detail}', en: 'Not a spec’s JSON: {detail}' },

  'history.title': { ja: 'ジョブの履歴', en: 'Your jobs' },
  'history.refresh': { ja: '更新', en: 'Refresh' },
  'history.more': { ja: 'さらに表示', en: 'Show more' },
  'history.empty': { ja: 'まだジョブはありません。', en: 'No jobs yet.' },
  'history.need_key': {
    ja: 'API キーを入力すると、これまでのジョブが表示されます。',
    en: 'Enter your API key to see your jobs.',
  },
  'history.download': { ja: 'ダウンロード', en: 'Download' },
  'col.name': { ja: '名前', en: 'Name' },
  'col.state': { ja: '状態', en: 'State' },
  'col.rows': { ja: '行数', en: 'Rows' },
  'col.format': { ja: '形式', en: 'Format' },
  'col.created': { ja: '作成日時', en: 'Created' },
  'col.file': { ja: 'ファイル', en: 'File' },

  'footer.api_docs': { ja: 'API リファレンス', en: 'API reference' },
};

// The catalog's categories, as people call them.
const CATEGORY_NAMES = {
  basic: { ja: '基本', en: 'Basic' },
  person: { ja: '人物', en: 'Person' },
  contact: { ja: '連絡先', en: 'Contact' },
  address: { ja: '住所', en: 'Address' },
  internet: { ja: 'インターネット', en: 'Internet' },
  datetime: { ja: '日付・時刻', en: 'Date and time' },
  number: { ja: '数値', en: 'Numbers' },
  finance: { ja: '金融', en: 'Finance' },
  commerce: { ja: '商品・取引', en: 'Commerce' },
  company: { ja: '会社', en: 'Company' },
  identifier: { ja: '識別子', en: 'Identifiers' },
  text: { ja: 'テキスト', en: 'Text' },
  file: { ja: 'ファイル', en: 'Files' },
  geo: { ja: '位置情報', en: 'Geography' },
  color: { ja: '色', en: 'Colours' },
  relation: { ja: 'テーブル間の参照', en: 'Relations' },
  derived: { ja: '他の列から作る', en: 'Derived' },
};

const FORMAT_NAMES = {
  csv: 'CSV',
  tsv: 'TSV',
  json: 'JSON',
  jsonl: 'JSON Lines',
  parquet: 'Parquet',
  sql: 'SQL (INSERT)',
  xlsx: 'Excel (xlsx)',
};
