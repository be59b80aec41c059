# tinyroute: a third-party router gem (vendored by Bundler), running middleware in order.
module Tinyroute
  class Stack
    def initialize
      @layers = []
    end

    def use(&blk)
      @layers << blk
      self
    end

    def call(env, &endpoint)
      run(env, 0, endpoint)
    end

    private

    def run(env, i, endpoint)
      layer = @layers[i]
      return endpoint.call(env) unless layer

      layer.call(env, -> { run(env, i + 1, endpoint) })
    end
  end
end
