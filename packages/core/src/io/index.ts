export {
  type SafetensorsDType,
  SafetensorsError,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './format.js';
export { decodeBFloat16, decodeFloat16, encodeBFloat16, encodeFloat16 } from './half.js';
export { readSafetensorsHeader } from './header.js';
export {
  type LoadSafetensorsOptions,
  loadSafetensors,
  loadSafetensorsAsync,
  readSafetensorsHeaderAsync,
  type SafetensorsReader,
  type SafetensorsSource,
} from './load.js';
export {
  type SafetensorsTensors,
  type SaveSafetensorsOptions,
  saveSafetensors,
  saveSafetensorsAsync,
} from './save.js';
