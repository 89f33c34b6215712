// The attention-op registry entries of this package (registered on import).
import './na-entries.js';
import './halo-entry.js';
