package provision

// Reasons for the ResourceReady condition. They are the vocabulary users read in `kubectl get`
// and in the status branch, so they stay stable.
const (
	ReasonProvisioning       = "Provisioning"       // a pool is being created, scaled or replaced
	ReasonNodesReady         = "NodesReady"         // enough Ready nodes with the GPUs the workspace needs
	ReasonNodesNotReady      = "NodesNotReady"      // the nodes exist but are not Ready yet
	ReasonInsufficientGPU    = "InsufficientGPU"    // Ready nodes, but fewer nvidia.com/gpu allocatable than needed
	ReasonQuotaExceeded      = "QuotaExceeded"      // the subscription's vCPU quota for the SKU's family is too small
	ReasonSKUNotAvailable    = "SKUNotAvailable"    // the VM size is not offered in the cluster's region
	ReasonThrottled          = "Throttled"          // ARM answered 429; retried after Retry-After
	ReasonProvisioningFailed = "ProvisioningFailed" // the cloud operation failed
	ReasonMissingNodes       = "MissingNodes"       // bring-your-own: not enough matching nodes exist
)
