import { ValidateBy, ValidateIf } from 'class-validator';

function composed(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => decorators.forEach((d) => d(target, key));
}

/**
 * One value that an HTTP body takes under two names: Ferry's (`primary`, the name its NATS request
 * keeps) and a seed's (`alias`, as that seed's clients send it). One of them is required; when both
 * are given they must be equal. Put `primary()` on Ferry's field and `alias()` on the seed's, right
 * above the property, under the validators the value itself needs (decorators apply bottom-up, so
 * "is required" and "must equal" come first among the field's messages); `valueOf` reads a validated
 * body.
 */
export function fieldAlias<P extends string, A extends string>(primary: P, alias: A) {
  const given = (object: unknown, key: string) => (object as Record<string, unknown>)[key] !== undefined;
  const onField = (expected: string, decorator: PropertyDecorator): PropertyDecorator =>
    function (target, key) {
      // A slip here would validate the wrong field without a word: fail when the class is defined.
      if (key !== expected) throw new Error(`fieldAlias: ${String(key)} is not ${expected}`);
      decorator(target, key);
    };
  return {
    /** Ferry's field: validated unless only the alias is given, so a body with neither fails here. */
    primary: (): PropertyDecorator =>
      onField(
        primary,
        composed(
          ValidateIf((b: object) => given(b, primary) || !given(b, alias)),
          ValidateBy({
            name: 'requiredUnlessAlias',
            validator: {
              validate: (value: unknown) => value !== undefined,
              defaultMessage: () => `${primary} or ${alias} is required`,
            },
          }),
        ),
      ),
    /** The seed's field: validated when given, and then equal to Ferry's if that is given too. */
    alias: (): PropertyDecorator =>
      onField(
        alias,
        composed(
          ValidateIf((b: object) => given(b, alias)),
          ValidateBy({
            name: 'sameAsPrimary',
            validator: {
              validate: (value: unknown, args) => {
                const other = (args?.object as Record<string, unknown>)[primary];
                return other === undefined || other === value;
              },
              defaultMessage: () => `${alias} must equal ${primary} when both are given`,
            },
          }),
        ),
      ),
    /** The value of a validated body, whichever name it came under. */
    valueOf<B extends Partial<Record<P | A, unknown>>>(body: B): NonNullable<B[P] | B[A]> {
      const value = body[primary] ?? body[alias];
      // Validation requires one of them; this only guards a caller that skipped it.
      if (value === undefined || value === null) throw new Error(`body has no ${primary} (nor ${alias})`);
      return value as NonNullable<B[P] | B[A]>;
    },
  };
}
