// Registers the CPU kernels of every neighborhood primitive (the float64 oracle of the other backends).
import './forward.js';
import './backward.js';
import './unfused.js';
