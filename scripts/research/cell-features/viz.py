import sys, numpy as np
sys.path.insert(0,'.')
from feat import load
import rasterio
rgb,mask,lab,stage=load(sys.argv[1])
img=(np.clip(rgb.transpose(1,2,0),0,1)*255).astype(np.uint8)
col=np.array([[255,0,0],[0,255,0],[0,0,0],[0,0,255]],np.uint8)
ov=img.copy(); sel=lab!=2
ov[sel]=(0.5*img[sel]+0.5*col[lab[sel]]).astype(np.uint8)
o=np.concatenate([img,ov],1).transpose(2,0,1); rasterio.open(sys.argv[2],"w",driver="GTiff",width=o.shape[2],height=o.shape[1],count=3,dtype="uint8").write(o); print(img.shape)
