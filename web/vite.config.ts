import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/ui/",
  plugins: [preact()],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", reportCompressedSize: true },
});
