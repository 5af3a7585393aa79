/**
 * A layer's own name as a file or folder name. Imported models keep the
 * names their authors gave (`features.3`, `layer3.1.conv2`, a Keras
 * `block1_conv1`), which are safe as they are; anything else an exporter may
 * put in a name (`/`, `:`, spaces) must not make a path. Pure.
 */

/** Characters other than letters, digits, `.`, `_` and `-` become `_`, and so do leading dots (`..` is no path). */
export function toLayerFileName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  return safe === '' ? '_' : safe;
}
