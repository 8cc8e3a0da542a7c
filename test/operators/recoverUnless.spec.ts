import { of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { recoverUnless } from '../../src/operators/recoverUnless.js';

class FatalError extends Error {}
const isFatal = (error: unknown) => error instanceof FatalError;
const fatal = new FatalError('token rejected');
const passing = new Error('server answered 500');

/** @test {recoverUnless} */
describe('recoverUnless', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should replace the source with what recover returns after an error that is not fatal', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-#', undefined, passing);
      const recovery = cold('   -r|');
      const seen: unknown[] = [];
      const result = source.pipe(
        recoverUnless(isFatal, (error) => {
          seen.push(error);
          return recovery;
        }),
      );
      expectObservable(result).toBe('a-b--r|');
      expectSubscriptions(source.subscriptions).toBe('^---!');
      expectSubscriptions(recovery.subscriptions).toBe('----^-!');
      testScheduler.flush();
      expect(seen).toEqual([passing]);
    });
  });

  it('should forward a fatal error unchanged, without calling recover', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold('a-b-#', undefined, fatal);
      let recovered = false;
      const result = source.pipe(
        recoverUnless(isFatal, () => {
          recovered = true;
          return of('r');
        }),
      );
      expectObservable(result).toBe('a-b-#', undefined, fatal);
      testScheduler.flush();
      expect(recovered).toBe(false);
    });
  });

  it('should mirror a source that completes', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b|').pipe(recoverUnless(isFatal, () => of('r')))).toBe('a-b|');
    });
  });

  it('should hand recover the source, to resubscribe to it', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a#', undefined, passing);
      let retries = 0;
      const result = source.pipe(recoverUnless(isFatal, (_error, caught) => (retries++ < 1 ? caught : of('r'))));
      expectObservable(result).toBe('aa(r|)');
      expectSubscriptions(source.subscriptions).toBe(['^!', '-^!']);
    });
  });
});
