/**
 * The only module that touches `@vscode/webview-ui-toolkit`. Upstream
 * archived the toolkit in January 2025; swapping it for plain elements or
 * another library means rewriting this file alone. Callers get plain
 * `HTMLElement`s and typed callbacks, never toolkit types.
 */
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeDropdown, vsCodeOption, vsCodeTextField } from '@vscode/webview-ui-toolkit';

let registered = false;

/** Defines the custom elements (once per page). */
export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeTextField());
}

/** Elements whose `value` the toolkit keeps as a property. */
type ValueElement = HTMLElement & { value: string };

export interface ButtonControl {
  readonly element: HTMLElement;
  setDisabled(disabled: boolean): void;
}

export function createButton(id: string, label: string, appearance: 'primary' | 'secondary', onClick: () => void): ButtonControl {
  const element = document.createElement('vscode-button');
  element.id = id;
  element.setAttribute('appearance', appearance);
  element.textContent = label;
  element.addEventListener('click', () => {
    if (!element.hasAttribute('disabled')) onClick();
  });
  return {
    element,
    setDisabled: (disabled) => element.toggleAttribute('disabled', disabled),
  };
}

export interface ChoiceControl<T extends string> {
  readonly element: HTMLElement;
  /** Shows `value` without reporting it as a user change. */
  setValue(value: T): void;
  readonly value: T;
}

/** A labelled dropdown; `onChange` fires only for the user's choices. */
export function createDropdown<T extends string>(id: string, label: string, choices: readonly { value: T; label: string }[], onChange: (value: T) => void): ChoiceControl<T> {
  const wrapper = labelled(id, label);
  const dropdown = document.createElement('vscode-dropdown') as ValueElement;
  dropdown.id = id;
  for (const choice of choices) {
    const option = document.createElement('vscode-option') as ValueElement;
    option.setAttribute('value', choice.value);
    option.textContent = choice.label;
    dropdown.append(option);
  }
  let quiet = false;
  dropdown.addEventListener('change', () => {
    if (!quiet) onChange(dropdown.value as T);
  });
  wrapper.append(dropdown);
  return {
    element: wrapper,
    setValue: (value) => {
      quiet = true;
      try {
        dropdown.value = value;
        dropdown.setAttribute('current-value', value);
      } finally {
        quiet = false;
      }
    },
    get value() {
      return dropdown.value as T;
    },
  };
}

export interface TextControl {
  readonly element: HTMLElement;
  setValue(text: string): void;
  readonly value: string;
  /** Marks the field invalid with `message`, or valid with undefined. */
  setProblem(message: string | undefined): void;
}

/**
 * A labelled text field. `onCommit` fires when the user commits a value
 * (Enter or leaving the field); `onInput`, if given, on every keystroke.
 */
export function createTextField(
  id: string,
  label: string,
  handlers: { onCommit?: (text: string) => void; onInput?: (text: string) => void; placeholder?: string; size?: number },
): TextControl {
  const wrapper = labelled(id, label);
  const field = document.createElement('vscode-text-field') as ValueElement;
  field.id = id;
  if (handlers.placeholder !== undefined) field.setAttribute('placeholder', handlers.placeholder);
  if (handlers.size !== undefined) field.setAttribute('size', String(handlers.size));
  const problem = document.createElement('span');
  problem.className = 'problem';
  problem.id = `${id}-problem`;
  problem.setAttribute('role', 'alert');
  if (handlers.onCommit !== undefined) {
    const onCommit = handlers.onCommit;
    field.addEventListener('change', () => onCommit(field.value));
  }
  if (handlers.onInput !== undefined) {
    const onInput = handlers.onInput;
    field.addEventListener('input', () => onInput(field.value));
  }
  wrapper.append(field, problem);
  return {
    element: wrapper,
    setValue: (text) => {
      field.value = text;
    },
    get value() {
      return field.value;
    },
    setProblem: (message) => {
      problem.textContent = message ?? '';
      field.toggleAttribute('data-invalid', message !== undefined);
      field.setAttribute('aria-invalid', String(message !== undefined));
    },
  };
}

function labelled(id: string, label: string): HTMLElement {
  const wrapper = document.createElement('div');
  wrapper.className = 'field';
  const caption = document.createElement('label');
  caption.htmlFor = id;
  caption.textContent = label;
  wrapper.append(caption);
  return wrapper;
}
