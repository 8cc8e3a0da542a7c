/** Where a setting's value comes from: flags override environment variables, which override the config file, which overrides defaults. */
import { settingFor, type DefaultedSetting, type Setting } from './declarations.js';

/** Values from a config file, keyed by flag name: below flags and environment, above the defaults. */
export interface FileSettings {
  values: Readonly<Record<string, string>>;
  booleans: Readonly<Record<string, boolean>>;
}
export const NO_FILE_SETTINGS: FileSettings = { values: {}, booleans: {} };

/** Where a setting's value came from: the doctor holds a CLI the user chose to a higher standard than a default. */
export type SettingSource = 'flag' | 'env' | 'file' | 'default';

const SOURCE_RANK: Record<SettingSource, number> = { flag: 3, env: 2, file: 1, default: 0 };

/** Whether a value from `source` wins over one from `other`. */
export function outranks(source: SettingSource, other: SettingSource): boolean {
  return SOURCE_RANK[source] > SOURCE_RANK[other];
}

/** The one place that applies the precedence flags > env > file > defaults. */
export function settingValue(
  setting: DefaultedSetting,
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  file?: FileSettings,
): { value: string; source: SettingSource };
export function settingValue(
  setting: Setting,
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  file?: FileSettings,
): { value?: string; source: SettingSource };
export function settingValue(
  setting: Setting,
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  file: FileSettings = NO_FILE_SETTINGS,
): { value?: string; source: SettingSource } {
  if (flags[setting.flag] !== undefined) return { value: flags[setting.flag], source: 'flag' };
  const fromEnv = setting.env ? env[setting.env] : undefined;
  if (fromEnv) return { value: fromEnv, source: 'env' };
  if (file.values[setting.flag] !== undefined) return { value: file.values[setting.flag], source: 'file' };
  return { value: setting.fallback, source: 'default' };
}

/** One setting by its flag name (`spool-dir`, …) with its source, without validating anything else. */
export function readSetting(
  flag: string,
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  file: FileSettings = NO_FILE_SETTINGS,
): { value?: string; source: SettingSource } {
  const setting = settingFor(flag);
  if (!setting) throw new Error(`no setting --${flag}`);
  return settingValue(setting, flags, env, file);
}
