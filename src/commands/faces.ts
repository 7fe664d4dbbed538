import { existsSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { Command } from 'commander';
import { z } from 'zod';
import { readRgbImage } from '../image/png.js';
import type { RgbImage } from '../image/rgb-image.js';
import { createMtcnnDetector, type Face } from '../mtcnn/detector.js';
import { resolveBackend } from '../mtcnn/engine.js';
import { backendOption } from '../run/options.js';
import { machineWorkerBudget } from '../run/workers.js';
import { FatalError, messageOf } from '../util/errors.js';
import { ExitCode } from '../util/exit-codes.js';
import { option, positiveNumber, thresholds } from '../util/options.js';
import { addOptions } from './options.js';

/**
 * `dfdc faces IMAGE...`: runs the MTCNN detector (facenet-pytorch's detect(), largest face first) on
 * image files as they are (8-bit RGB, alpha dropped, no resize, no colour management) and prints the
 * faces as a table, or with --json as
 * `[{"image", "width", "height", "faces": [{"box", "probability", "landmarks"}]}]` with the full float32
 * values (an argument that is not a readable image: `{"image", "error"}` in its place). An image that
 * cannot be read is reported on stderr with what to give instead; the others are still processed.
 */

const facesOptions = {
  thresholds: option(thresholds().default([0.6, 0.7, 0.7]), { help: "P-Net, R-Net, O-Net face thresholds (facenet-pytorch's defaults)", value: 'a,b,c' }),
  minFaceSize: option(positiveNumber().default(20), { help: 'smallest face MTCNN looks for, in pixels', value: 'px' }),
  ...backendOption,
  json: option(z.boolean().default(false), { help: 'print JSON on stdout instead of a table' }),
};

export const facesOptionsSchema = z.object(facesOptions);

export interface ImageFaces {
  image: string;
  width: number;
  height: number;
  faces: Face[];
}

/** An argument that is not a readable image, in --json. */
export interface ImageError {
  image: string;
  error: string;
}

/**
 * MTCNN's memory on one image, measured (peak RSS of `dfdc faces`, 3 and 12 megapixels, minimum
 * face 20 and 40 px): about 150 MB, plus some 100 bytes per pixel of the pyramid's first level,
 * whose side is the image's times 12 / minimum face size over 12 / 20.
 */
export function mtcnnBytes(width: number, height: number, minFaceSize: number): number {
  return 150e6 + 100 * width * height * (20 / minFaceSize) ** 2;
}

/** What this process may use: the machine's memory, or its container's limit when tighter. */
function memoryAllowed(): number {
  return Math.min(totalmem(), machineWorkerBudget().memoryLimit ?? Number.POSITIVE_INFINITY);
}

/**
 * Why an image is refused before the detector runs out of memory (the kernel would kill the
 * process without a word), or undefined when it fits in nine tenths of `allowed`.
 */
export function memoryRefusal(width: number, height: number, minFaceSize: number, allowed: number): string | undefined {
  const needed = mtcnnBytes(width, height, minFaceSize);
  if (needed <= 0.9 * allowed) return undefined;
  const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
  // The share of its side that would fit: the memory grows with the area.
  const fits = Math.sqrt(Math.max(0, 0.9 * allowed - 150e6) / (needed - 150e6));
  return `${width}x${height} would need about ${gb(needed)} for MTCNN at --min-face-size ${minFaceSize}, more than the ${gb(allowed)} this process may use: shrink it (to ${Math.max(1, Math.floor(fits * 100))}% of its side or less) or give a larger --min-face-size`;
}

/** Why an argument is not a readable image, and what to give instead. */
function unreadableImage(path: string, error: unknown): string {
  if (!existsSync(path)) return 'cannot read the image (no such file)';
  if (statSync(path).isDirectory()) return 'a folder, not an image: give the image files in it (e.g. folder/*.png)';
  if (/\.(mp4|mov|avi|mkv|webm)$/i.test(path)) return `a video, not an image: dfdc faces reads images; take a frame first, e.g. ffmpeg -i ${path} -frames:v 1 frame.png`;
  const reason = messageOf(error).replace(`${path}: `, '').replace(/:\s*$/, '');
  return `cannot read the image (${reason}): give a PNG, JPEG, WebP, GIF, TIFF or AVIF file`;
}

export function facesCommand(): Command {
  return addOptions(
    new Command('faces')
      .description("Detect faces in image files with MTCNN (the reference's facenet-pytorch detect(): boxes, probabilities, 5 landmarks, largest first)")
      .argument('<image...>', 'image files (PNG, JPEG, ...), read as they are: RGB, alpha dropped, no resize'),
    facesOptions,
  ).action(async (images: string[], raw: unknown) => {
      const options = facesOptionsSchema.parse(raw);
      const detector = createMtcnnDetector({ backend: await resolveBackend(options.backend) });
      const results: (ImageFaces | ImageError)[] = [];
      let failed = 0;
      // Its reader gone (`dfdc faces *.jpg | head -1`), the table has no one to go to: stop there.
      let readerGone = false;
      const onStdoutError = (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') readerGone = true;
      };
      process.stdout.on('error', onStdoutError);
      const refuse = (path: string, why: string) => {
        failed += 1;
        process.stderr.write(`dfdc: ${path}: ${why}\n`);
        // --json keeps one entry per argument, in order: this one with its error.
        if (options.json) results.push({ image: path, error: why });
      };
      try {
        for (const path of images) {
          if (readerGone) break;
          let image: RgbImage;
          try {
            image = await readRgbImage(path);
          } catch (error) {
            // The machine's failure (sharp cannot load), not the image's: it stops the command.
            if (error instanceof FatalError) throw error;
            refuse(path, unreadableImage(path, error));
            continue;
          }
          const tooLarge = memoryRefusal(image.width, image.height, options.minFaceSize, memoryAllowed());
          if (tooLarge) {
            refuse(path, tooLarge);
            continue;
          }
          const [faces] = await detector.detectFaces([image], { thresholds: options.thresholds, minFaceSize: options.minFaceSize });
          const result = { image: path, width: image.width, height: image.height, faces: faces! };
          results.push(result);
          if (!options.json) process.stdout.write(formatFacesTable(result));
        }
      } finally {
        process.stdout.off('error', onStdoutError);
        await detector.dispose();
      }
      if (options.json) process.stdout.write(`${JSON.stringify(results)}\n`);
      process.exitCode = failed > 0 ? ExitCode.SomeFailed : ExitCode.Ok;
    });
}


const round = (v: number, digits: number) => v.toFixed(digits);

/** The human-readable table of one image's faces. */
export function formatFacesTable({ image, width, height, faces }: ImageFaces): string {
  const lines = [`${image}  ${width}x${height}  ${faces.length} face${faces.length === 1 ? '' : 's'}`];
  if (faces.length > 0) {
    lines.push('  #   x1       y1       x2       y2       probability  landmarks x,y: left eye, right eye, nose, mouth left, mouth right');
    faces.forEach((face, i) => {
      const box = face.box.map((v) => round(v, 1).padEnd(8)).join(' ');
      const landmarks = face.landmarks.map(([x, y]) => `${round(x, 1)},${round(y, 1)}`).join('  ');
      lines.push(`  ${String(i + 1).padEnd(3)} ${box} ${round(face.probability, 6).padEnd(12)} ${landmarks}`);
    });
  }
  return `${lines.join('\n')}\n`;
}
