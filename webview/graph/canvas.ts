/** Sizes `canvas`'s bitmap to its CSS box at `resolution` × the device pixel ratio, clears it, and returns a context in CSS px. */
export function fitCanvas(canvas: HTMLCanvasElement, resolution = 1): CanvasRenderingContext2D | undefined {
  const ratio = (window.devicePixelRatio || 1) * resolution;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext('2d');
  if (context === null) return undefined;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  return context;
}
