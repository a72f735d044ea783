/** The ids of a registered image, as the value of its GUID tag (`FILESYSTEM=emi-…,KERNEL=eki-…`), and back. */
import { ID_KEYS, type IdKey, type ImageIds } from '../../../common/image-types.js';

export function formatIdsTag(ids: ImageIds): string {
  return ID_KEYS.filter((k) => ids[k]).map((k) => `${k}=${ids[k]}`).join(',');
}
export function parseIdsTag(value: string | undefined): ImageIds | undefined {
  if (!value || !value.includes('=')) return undefined;
  const ids: ImageIds = {};
  for (const item of value.split(',')) {
    const [key, id] = item.split('=');
    if (!key || !id || !(ID_KEYS as readonly string[]).includes(key)) return undefined;
    ids[key as IdKey] = id;
  }
  return ids;
}
