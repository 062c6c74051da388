import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.js'],
    testTimeout: 30000,
    hookTimeout: 60000,
    // one file at a time: the tests open pools, watch connections and databases, and CI's
    // throwaway cluster allows 50 connections
    fileParallelism: false,
  },
});
