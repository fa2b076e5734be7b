import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The renderer bundle; the engine never enters it (the renderer talks to the engine over a transport).
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: { outDir: '../dist/renderer', emptyOutDir: true },
});
