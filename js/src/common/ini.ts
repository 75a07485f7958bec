/** A config as ``{section: {key: value}}`` (INI text as FUSION's configparser reads it). */
export type ConfigSections = Record<string, Record<string, string>>;

/**
 * Parse INI text: ``[section]`` headers, ``key = value`` (or ``key: value``), comments
 * on their own line (``#``, ``;``), indented lines continuing the previous value.
 */
export function parseIni(text: string): ConfigSections {
  const sections: ConfigSections = {};
  let section: Record<string, string> | null = null;
  let lastKey: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith(';')) {
      continue;
    }
    if (/^\s/.test(line) && section && lastKey !== null) {
      section[lastKey] = `${section[lastKey]}\n${trimmed}`;
      continue;
    }
    const header = /^\[([^\]]+)\]$/.exec(trimmed);
    if (header) {
      section = sections[header[1].trim()] ??= {};
      lastKey = null;
      continue;
    }
    const at = trimmed.search(/[=:]/);
    if (at > 0 && section) {
      lastKey = trimmed.slice(0, at).trim().toLowerCase();
      section[lastKey] = trimmed.slice(at + 1).trim();
    }
  }
  return sections;
}

/** One key whose value is not the same in every config (undefined: the key is absent). */
export interface DiffRow {
  section: string;
  key: string;
  values: Array<string | undefined>;
}

/** The keys that differ between configs, in section then key order. */
export function configDiff(configs: ConfigSections[]): DiffRow[] {
  const sections = [...new Set(configs.flatMap(c => Object.keys(c)))].sort();
  const rows: DiffRow[] = [];
  for (const section of sections) {
    const keys = [...new Set(configs.flatMap(c => Object.keys(c[section] ?? {})))].sort();
    for (const key of keys) {
      const values = configs.map(c => c[section]?.[key]);
      if (new Set(values).size > 1) {
        rows.push({ section, key, values });
      }
    }
  }
  return rows;
}
