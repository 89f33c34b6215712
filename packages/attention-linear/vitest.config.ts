import { defineProject } from 'vitest/config';
import { addChromiumVulkanLoader } from '../../scripts/testing/webgpu-suite.js';

// SwiftShader's Vulkan loader must be on LD_LIBRARY_PATH before vitest forks its workers.
addChromiumVulkanLoader();

export default defineProject({
  test: {
    name: 'attention-linear',
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
