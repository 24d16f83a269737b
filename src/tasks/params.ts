import { z } from 'zod';

/**
 * Shared parameter shapes. Every name that may become a path is checked here once, so no task can be tricked into
 * leaving its directory with `/`, `..` or NUL.
 */

/** Model guids are UUID v4 strings; unknown guids are answered by the owner lookup, not here. */
export const guid = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'a guid holds only letters, digits, - and _');

export const guidList = z.array(guid).max(10_000);

/** A name that becomes one path component: no separators, no dot-only names, no control characters. */
export const pathSafeName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !s.includes('/') && !s.includes('\\'), 'must not contain a path separator')
  .refine((s) => s !== '.' && s !== '..' && !s.includes('..'), "must not contain '..'")
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters or NUL');

/** vPool names (`ext:src/generic/toolbox.py`). */
export const vpoolName = z.string().regex(/^[0-9a-z][-a-z0-9]{1,20}[a-z0-9]$/, 'vPool names are 3-23 of [a-z0-9-], not starting or ending with -');

/**
 * vDisk names as the original's callers send them: a friendly name (`Foo Bar`) or a file name (`dir/one.raw`); the
 * task turns it into a devicename with `cleanDevicename` (spec §2.1). Path tricks stay refused here.
 */
export const vdiskName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters or NUL')
  .refine((s) => !s.split(/[\\/]/).includes('..'), "must not contain a '..' component")
  .refine((s) => /[\w.-]/.test(s), 'must hold at least one letter, digit, _, - or .');

/** Epoch seconds as the original passes them (float). */
export const timestamp = z.number().finite().nonnegative();

/** Free-form maps (metadata, parameters) stay maps: arrays, strings and null are refused. */
export const record = z.record(z.string(), z.unknown());

export const nonNegativeInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
